import { AuditModule as SharedAuditModule } from '@meterkeep/audit/nest';
import { OutboxRepository } from '../outbox/outbox.repository';

/** OTA distributor's audit log (@meterkeep/audit): the `audit_chain_heads` table of its own schema. */
export const AuditModule = SharedAuditModule.forRoot({ outbox: OutboxRepository });
