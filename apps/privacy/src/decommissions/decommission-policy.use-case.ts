import { Injectable } from '@nestjs/common';
import type { DecommissionPolicyPut, DecommissionPolicyView } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { ErasureErrors } from '../erasures/erasures.errors';
import { Transactions } from '../outbox/transactions';
import { RetentionSchedulesRepository } from '../retention/retention-schedules.repository';
import {
  DEFAULT_DECOMMISSION_POLICY,
  DecommissionPoliciesRepository,
  type DecommissionPolicyRow,
} from './decommission-policies.repository';

export function toDecommissionPolicyView(row: DecommissionPolicyRow | undefined): DecommissionPolicyView {
  return row
    ? {
        policy: row.policy,
        retentions: row.retentions,
        isDefault: false,
        updatedAt: row.updated_at.toISOString(),
        updatedBy: row.updated_by,
      }
    : {
        policy: DEFAULT_DECOMMISSION_POLICY,
        retentions: [],
        isDefault: true,
        updatedAt: null,
        updatedBy: null,
      };
}

/**
 * A tenant admin sets what decommissioning does to a meter's last occupancy. Audited with the policy
 * before and after and the admin's reason, in the same transaction (policy changes are accountable,
 * spec privacy.md §4.9). Decommissionings already under way keep the policy they read. A retention
 * needs the tenant's schedule for its purpose now: its date, basis and reference come from it when a
 * decommissioning erases (schedules are never deleted, only changed).
 */
@Injectable()
export class SetDecommissionPolicyUseCase {
  constructor(
    private readonly policies: DecommissionPoliciesRepository,
    private readonly schedules: RetentionSchedulesRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  execute(caller: Caller, body: DecommissionPolicyPut): Promise<DecommissionPolicyView> {
    return this.transactions.run(async (trx) => {
      for (const { purpose } of body.retentions)
        if (!(await this.schedules.find(caller.tenantId, purpose, trx)))
          throw ErasureErrors.retentionScheduleMissing(purpose);
      const before = await this.policies.find(caller.tenantId, trx);
      const row = await this.policies.set(
        caller.tenantId,
        body.policy,
        body.retentions,
        caller.actor,
        new Date(),
        trx,
      );
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'privacy.decommission-policy-set',
          actor: caller.actor,
          subject: caller.tenantId,
          outcome: 'allowed',
          detail: {
            policy: body.policy,
            previousPolicy: before?.policy ?? DEFAULT_DECOMMISSION_POLICY,
            retentions: body.retentions.map((r) => `${r.purpose}:${r.granularity}`).join(' '),
            reason: body.reason,
          },
        },
      ]);
      return toDecommissionPolicyView(row);
    });
  }
}
