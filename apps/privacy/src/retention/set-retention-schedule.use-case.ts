import { Injectable } from '@nestjs/common';
import type { RetentionSchedulePut, RetentionScheduleView } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { Transactions } from '../outbox/transactions';
import { RetentionSchedulesRepository } from './retention-schedules.repository';
import { toRetentionScheduleView } from './retention-schedule.view';

/**
 * Sets a tenant's retention period for a purpose, audited with the period before and after (policy
 * changes are accountable, spec privacy.md §4.9). Retention keys already made keep their date.
 */
@Injectable()
export class SetRetentionScheduleUseCase {
  constructor(
    private readonly schedules: RetentionSchedulesRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  execute(caller: Caller, purpose: string, body: RetentionSchedulePut): Promise<RetentionScheduleView> {
    return this.transactions.run(async (trx) => {
      const before = await this.schedules.find(caller.tenantId, purpose, trx);
      const row = await this.schedules.upsert(trx, {
        tenant_id: caller.tenantId,
        purpose,
        retain_days: body.retainDays,
        legal_basis: body.legalBasis,
        reference: body.reference,
        updated_at: new Date(),
        updated_by: caller.actor,
      });
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'privacy.retention-schedule-set',
          actor: caller.actor,
          subject: purpose,
          outcome: 'allowed',
          detail: { retainDays: body.retainDays, previousRetainDays: before?.retain_days ?? 0 },
        },
      ]);
      return toRetentionScheduleView(row);
    });
  }
}
