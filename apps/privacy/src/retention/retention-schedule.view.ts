import type { RetentionScheduleView } from '@meterkeep/contracts';
import type { RetentionScheduleRow } from './retention-schedules.repository';

export const toRetentionScheduleView = (row: RetentionScheduleRow): RetentionScheduleView => ({
  purpose: row.purpose,
  retainDays: row.retain_days,
  legalBasis: row.legal_basis,
  reference: row.reference,
  updatedAt: row.updated_at.toISOString(),
  updatedBy: row.updated_by,
});
