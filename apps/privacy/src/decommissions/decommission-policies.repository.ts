import { Inject, Injectable } from '@nestjs/common';
import { DATABASE } from '@meterkeep/db/nest';
import type { Selectable } from 'kysely';
import type { DecommissionRetention } from '@meterkeep/contracts';
import type { DecommissionPoliciesTable, DecommissionPolicy, Executor } from '../core/database';

export type DecommissionPolicyRow = Selectable<DecommissionPoliciesTable>;

/** The secure default: a decommissioned meter's last occupancy is erased. */
export const DEFAULT_DECOMMISSION_POLICY: DecommissionPolicy = 'erase';

/** Per tenant, what decommissioning does to the occupancy it closes. */
@Injectable()
export class DecommissionPoliciesRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  async policyOf(
    tenantId: string,
  ): Promise<{ policy: DecommissionPolicy; retentions: DecommissionRetention[] }> {
    const row = await this.find(tenantId);
    return row
      ? { policy: row.policy, retentions: row.retentions }
      : { policy: DEFAULT_DECOMMISSION_POLICY, retentions: [] };
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
    retentions: DecommissionRetention[],
    actor: string,
    now: Date,
    executor: Executor = this.db,
  ): Promise<DecommissionPolicyRow> {
    const changes = { policy, retentions: JSON.stringify(retentions), updated_at: now, updated_by: actor };
    return executor
      .insertInto('decommission_policies')
      .values({ tenant_id: tenantId, ...changes })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet(changes))
      .returningAll()
      .executeTakeFirstOrThrow();
  }
}
