import { Inject, Injectable } from '@nestjs/common';
import { DATABASE } from '@meterkeep/db/nest';
import type { DecommissionPolicy, Executor } from '../core/database';

/** The secure default: a decommissioned meter's last occupancy is erased. */
export const DEFAULT_DECOMMISSION_POLICY: DecommissionPolicy = 'erase';

/** Per tenant, what decommissioning does to the occupancy it closes. */
@Injectable()
export class DecommissionPoliciesRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  async policyOf(tenantId: string): Promise<DecommissionPolicy> {
    const row = await this.db
      .selectFrom('decommission_policies')
      .select('policy')
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    return row?.policy ?? DEFAULT_DECOMMISSION_POLICY;
  }

  async set(tenantId: string, policy: DecommissionPolicy, actor: string, now: Date): Promise<void> {
    await this.db
      .insertInto('decommission_policies')
      .values({ tenant_id: tenantId, policy, updated_at: now, updated_by: actor })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ policy, updated_at: now, updated_by: actor }))
      .execute();
  }
}
