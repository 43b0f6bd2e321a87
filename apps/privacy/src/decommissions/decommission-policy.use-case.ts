import { Injectable } from '@nestjs/common';
import type { DecommissionPolicyPut, DecommissionPolicyView } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { Transactions } from '../outbox/transactions';
import {
  DEFAULT_DECOMMISSION_POLICY,
  DecommissionPoliciesRepository,
  type DecommissionPolicyRow,
} from './decommission-policies.repository';

export function toDecommissionPolicyView(row: DecommissionPolicyRow | undefined): DecommissionPolicyView {
  return row
    ? {
        policy: row.policy,
        isDefault: false,
        updatedAt: row.updated_at.toISOString(),
        updatedBy: row.updated_by,
      }
    : { policy: DEFAULT_DECOMMISSION_POLICY, isDefault: true, updatedAt: null, updatedBy: null };
}

/**
 * A tenant admin sets what decommissioning does to a meter's last occupancy. Audited with the policy
 * before and after and the admin's reason, in the same transaction (policy changes are accountable,
 * spec privacy.md §4.9). Decommissionings already under way keep the policy they read.
 */
@Injectable()
export class SetDecommissionPolicyUseCase {
  constructor(
    private readonly policies: DecommissionPoliciesRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  execute(caller: Caller, body: DecommissionPolicyPut): Promise<DecommissionPolicyView> {
    return this.transactions.run(async (trx) => {
      const before = await this.policies.find(caller.tenantId, trx);
      const row = await this.policies.set(caller.tenantId, body.policy, caller.actor, new Date(), trx);
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'privacy.decommission-policy-set',
          actor: caller.actor,
          subject: caller.tenantId,
          outcome: 'allowed',
          detail: {
            policy: body.policy,
            previousPolicy: before?.policy ?? DEFAULT_DECOMMISSION_POLICY,
            reason: body.reason,
          },
        },
      ]);
      return toDecommissionPolicyView(row);
    });
  }
}
