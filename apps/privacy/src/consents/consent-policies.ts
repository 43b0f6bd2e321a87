import { Inject, Injectable } from '@nestjs/common';
import { DATABASE } from '@meterkeep/db/nest';
import type { ConsentPoliciesTable, Executor } from '../core/database';
import type { Selectable } from 'kysely';
import { type ConsentPolicy, GB_PRESET, type PolicyOverride, overridePolicy, policyRef } from './policy';

export type ConsentPolicyRow = Selectable<ConsentPoliciesTable>;

/** The preset every tenant starts from (and an override is based on). */
export const PRESET = GB_PRESET;

/** A stored override as the policy it makes: the preset with the tenant's changes, id the tenant's. */
export function policyOfRow(row: ConsentPolicyRow): ConsentPolicy {
  const override = row.override as Omit<PolicyOverride, 'id' | 'version'>;
  return overridePolicy(PRESET, { ...override, id: row.tenant_id, version: row.version });
}

/**
 * The policy each tenant's consents are decided under: the preset, or the latest version of the
 * tenant's override (consent_policies, one row per version, never changed). Each ledger entry records
 * the policy it was decided under (id@version), and `versions` resolves those, so a later version never
 * rewrites an earlier decision.
 */
@Injectable()
export class ConsentPolicies {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  async forTenant(tenantId: string, executor: Executor = this.db): Promise<ConsentPolicy> {
    const row = await this.latest(tenantId, executor);
    return row ? policyOfRow(row) : PRESET;
  }

  latest(tenantId: string, executor: Executor = this.db): Promise<ConsentPolicyRow | undefined> {
    return executor
      .selectFrom('consent_policies')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** Every policy the tenant's entries may name, by id@version (the preset included). */
  async versions(tenantId: string, executor: Executor = this.db): Promise<Map<string, ConsentPolicy>> {
    const rows = await executor
      .selectFrom('consent_policies')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .execute();
    const policies = new Map<string, ConsentPolicy>([[policyRef(PRESET), PRESET]]);
    for (const row of rows) {
      const policy = policyOfRow(row);
      policies.set(policyRef(policy), policy);
    }
    return policies;
  }

  /** The next version (write under the tenant's advisory lock: versions are dense). */
  async insert(
    executor: Executor,
    row: Omit<ConsentPolicyRow, 'override'> & { override: Record<string, unknown> },
  ): Promise<ConsentPolicyRow> {
    return executor
      .insertInto('consent_policies')
      .values({ ...row, override: JSON.stringify(row.override) })
      .returningAll()
      .executeTakeFirstOrThrow();
  }
}
