import { Inject, Injectable } from '@nestjs/common';
import { DATABASE } from '@meterkeep/db/nest';
import type { Selectable } from 'kysely';
import type { Executor, NetworkCellMembersTable } from '../core/database';

export type NetworkCellMemberRow = Selectable<NetworkCellMembersTable>;

/** Which cell each of a tenant's meters is in (one at most: cells partition the meters). */
@Injectable()
export class NetworkCellsRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  members(tenantId: string, cellId: string, executor: Executor = this.db): Promise<NetworkCellMemberRow[]> {
    return executor
      .selectFrom('network_cell_members')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('cell_id', '=', cellId)
      .orderBy('meter_id')
      .execute();
  }

  /** The cell becomes exactly these meters; answers how many left it and how many came from another. */
  async replace(
    trx: Executor,
    tenantId: string,
    cellId: string,
    kind: NetworkCellMemberRow['cell_kind'],
    meterIds: readonly string[],
    actor: string,
    now: Date,
  ): Promise<{ removed: number; moved: number }> {
    const removed = await trx
      .deleteFrom('network_cell_members')
      .where('tenant_id', '=', tenantId)
      .where('cell_id', '=', cellId)
      .where('meter_id', 'not in', meterIds)
      .executeTakeFirst();
    const moved = await trx
      .selectFrom('network_cell_members')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('tenant_id', '=', tenantId)
      .where('cell_id', '!=', cellId)
      .where('meter_id', 'in', meterIds)
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('network_cell_members')
      .values(
        meterIds.map((meterId) => ({
          tenant_id: tenantId,
          meter_id: meterId,
          cell_id: cellId,
          cell_kind: kind,
          assigned_at: now,
          assigned_by: actor,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'meter_id']).doUpdateSet((eb) => ({
          cell_id: eb.ref('excluded.cell_id'),
          cell_kind: eb.ref('excluded.cell_kind'),
          assigned_at: eb.ref('excluded.assigned_at'),
          assigned_by: eb.ref('excluded.assigned_by'),
        })),
      )
      .execute();
    return { removed: Number(removed.numDeletedRows), moved: Number(moved.count) };
  }
}
