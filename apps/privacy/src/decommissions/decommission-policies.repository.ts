import { Inject, Injectable } from '@nestjs/common';
import { DATABASE } from '@meterkeep/db/nest';
import type { Selectable } from 'kysely';
import type { DecommissionPoliciesTable, DecommissionPolicy, Executor } from '../core/database';

export type DecommissionPolicyRow = Selectable<DecommissionPoliciesTable>;

/** The secure default: a decommissioned meter's last occupancy is erased. */
export const DEFAULT_DECOMMISSION_POLICY: DecommissionPolicy = 'erase';

/** Per tenant, what decommissioning does to the occupancy it closes. */
@Injectable()
export class DecommissionPoliciesRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  async policyOf(tenantId: string): Promise<DecommissionPolicy> {
    return (await this.find(tenantId))?.policy ?? DEFAULT_DECOMMISSION_POLICY;
  }

  /** The tenant's row, or undefined while it has set none. */
  find(tenantId: string, executor: Executor = this.db): Promise<DecommissionPolicyRow | undefined> {
    return executor
      .selectFrom('decommission_policies')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
  }

  async set(
    tenantId: string,
    policy: DecommissionPolicy,
    actor: string,
    now: Date,
    executor: Executor = this.db,
  ): Promise<DecommissionPolicyRow> {
    return executor
      .insertInto('decommission_policies')
      .values({ tenant_id: tenantId, policy, updated_at: now, updated_by: actor })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ policy, updated_at: now, updated_by: actor }))
      .returningAll()
      .executeTakeFirstOrThrow();
  }
}
