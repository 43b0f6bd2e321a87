import { AuditLog as SharedAuditLog } from '@meterkeep/audit';
import type { OtaDb } from '../core/database';

/**
 * Appends security-relevant actions to the tenant's hash chain (@meterkeep/audit), typed for ota-distributor's
 * database: the chain head and the records in the outbox commit with the caller's change.
 */
export const AuditLog = SharedAuditLog;
export type AuditLog = SharedAuditLog<OtaDb>;
