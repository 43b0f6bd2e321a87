import { Module } from '@nestjs/common';
import { AuditModule as SharedAuditModule } from '@meterkeep/audit/nest';
import { DATABASE } from '@meterkeep/db/nest';
import { OutboxRepository } from '../outbox/outbox.repository';
import { AuditController } from './audit.controller';

/**
 * The OTA distributor's audit log (@meterkeep/audit): the `audit_chain_heads` and `audit_records` tables of its
 * own schema, and GET /v1/audit/verify over them.
 */
@Module({
  imports: [SharedAuditModule.forRoot({ outbox: OutboxRepository, database: DATABASE })],
  controllers: [AuditController],
})
export class AuditModule {}
