import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import type { ConsentPolicyPut, ConsentPolicyView } from '@meterkeep/contracts';
import { type Caller, DomainError } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { Transactions } from '../outbox/transactions';
import { assertHalfHourZone } from '../release/calendar-windows';
import { type ConsentPolicyRow, ConsentPolicies, PRESET, policyOfRow } from './consent-policies';
import { type ConsentPolicy, overridePolicy, policyRef } from './policy';

export const ConsentPolicyErrors = {
  versionConflict: (current: number) =>
    new DomainError(
      'conflict',
      'POLICY_VERSION_CONFLICT',
      `The tenant's policy is at version ${current}: read it again and replace that version`,
    ),
  invalid: (message: string) => new DomainError('unprocessable', 'INVALID_POLICY', message),
} as const;

export function toConsentPolicyView(row: ConsentPolicyRow | undefined): ConsentPolicyView {
  const policy: ConsentPolicy = row ? policyOfRow(row) : PRESET;
  const override = row?.override as ConsentPolicyView['override'] | undefined;
  return {
    policy: policyRef(policy),
    version: row?.version ?? 0,
    basedOn: policy.basedOn ?? null,
    isPreset: row === undefined,
    timeZone: policy.timeZone,
    purposes: policy.purposes as ConsentPolicyView['purposes'],
    override: override ?? null,
    reason: row?.reason ?? null,
    updatedAt: row?.created_at.toISOString() ?? null,
    updatedBy: row?.created_by ?? null,
  };
}

/** A zone the release gate can cut windows in: known to Intl, whole half-hour offsets all year. */
function checkTimeZone(timeZone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
    const year = new Date().getUTCFullYear();
    for (let month = 0; month < 12; month++) assertHalfHourZone(timeZone, Date.UTC(year, month, 15));
    return undefined;
  } catch {
    return `timeZone ${timeZone}: not a zone whose offsets are whole half-hours`;
  }
}

/**
 * A tenant admin overrides the preset: the body is the whole override and becomes the next version,
 * checked as a policy (overridePolicy, checkPolicy) before it is stored. Under the tenant's advisory lock
 * with the version the caller read (a stale one is refused), audited with the versions and the reason
 * in the same transaction. Entries recorded earlier keep their version (ConsentPolicies.versions).
 */
@Injectable()
export class SetConsentPolicyUseCase {
  constructor(
    private readonly policies: ConsentPolicies,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  execute(caller: Caller, body: ConsentPolicyPut): Promise<ConsentPolicyView> {
    const { replacesVersion, reason, ...override } = body;
    const zoneProblem = override.timeZone === undefined ? undefined : checkTimeZone(override.timeZone);
    if (zoneProblem) throw ConsentPolicyErrors.invalid(zoneProblem);
    return this.transactions.run(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${`consent-policy/${caller.tenantId}`}))`.execute(trx);
      const current = await this.policies.latest(caller.tenantId, trx);
      const currentVersion = current?.version ?? 0;
      if (replacesVersion !== currentVersion) throw ConsentPolicyErrors.versionConflict(currentVersion);
      const version = currentVersion + 1;
      try {
        overridePolicy(PRESET, { ...override, id: caller.tenantId, version });
      } catch (error) {
        throw ConsentPolicyErrors.invalid((error as Error).message);
      }
      const row = await this.policies.insert(trx, {
        tenant_id: caller.tenantId,
        version,
        based_on: policyRef(PRESET),
        override: override,
        reason,
        created_by: caller.actor,
        created_at: new Date(),
      });
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'privacy.consent-policy-set',
          actor: caller.actor,
          subject: caller.tenantId,
          outcome: 'allowed',
          detail: {
            policy: `${caller.tenantId}@${version}`,
            previousPolicy: current ? `${caller.tenantId}@${current.version}` : policyRef(PRESET),
            purposes: Object.keys(override.purposes).sort().join(','),
            reason,
          },
        },
      ]);
      return toConsentPolicyView(row);
    });
  }
}
