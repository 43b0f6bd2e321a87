import { Inject, Injectable } from '@nestjs/common';
import { DATABASE } from '@meterkeep/db/nest';
import type { Executor } from '../core/database';

@Injectable()
export class TenantsRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  /** Inserts the tenant; false when the id is taken. */
  async insert(executor: Executor, tenantId: string, name: string): Promise<boolean> {
    const inserted = await executor
      .insertInto('tenants')
      .values({ tenant_id: tenantId, name })
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .returning('tenant_id')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  /** Locks the tenant's row for the caller's transaction; false when there is no such tenant. */
  async lock(executor: Executor, tenantId: string): Promise<boolean> {
    const row = await executor
      .selectFrom('tenants')
      .select('tenant_id')
      .where('tenant_id', '=', tenantId)
      .forUpdate()
      .executeTakeFirst();
    return row !== undefined;
  }

  async exists(tenantId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('tenants')
      .select('tenant_id')
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    return row !== undefined;
  }
}
