import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { Executor, OccupancyRow } from '../core/database';

export interface NewOccupancy {
  occupancyId: string;
  tenantId: string;
  meterId: string;
  subjectRef: string;
  from: Date;
  keyId: string;
  consumerClass: string;
  contractDate: Date | null;
}

/** Keyset position in the (valid_from, occupancy_id) order. */
export interface OccupancyPosition {
  from: Date;
  occupancyId: string;
}

/** Occupancies: who lived behind a meter, when. Every read names the tenant. */
@Injectable()
export class OccupanciesRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  /** Serialises changes to one meter's occupancies until the transaction ends. */
  async lockMeter(trx: Executor, tenantId: string, meterId: string): Promise<void> {
    await sql`select pg_advisory_xact_lock(hashtext('privacy.occupancies'), hashtext(${`${tenantId}/${meterId}`}))`.execute(
      trx,
    );
  }

  listForMeter(executor: Executor, tenantId: string, meterId: string): Promise<OccupancyRow[]> {
    return executor
      .selectFrom('occupancies')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('meter_id', '=', meterId)
      .orderBy('valid_from')
      .execute();
  }

  insert(trx: Executor, occupancy: NewOccupancy): Promise<OccupancyRow> {
    return trx
      .insertInto('occupancies')
      .values({
        occupancy_id: occupancy.occupancyId,
        tenant_id: occupancy.tenantId,
        meter_id: occupancy.meterId,
        subject_ref: occupancy.subjectRef,
        valid_from: occupancy.from,
        valid_to: null,
        key_id: occupancy.keyId,
        consumer_class: occupancy.consumerClass,
        contract_date: occupancy.contractDate,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  findForTenant(tenantId: string, occupancyId: string): Promise<OccupancyRow | undefined> {
    return this.db
      .selectFrom('occupancies')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('occupancy_id', '=', occupancyId)
      .executeTakeFirst();
  }

  /** The tenant's occupancy, locked until the transaction ends. */
  lock(trx: Executor, tenantId: string, occupancyId: string): Promise<OccupancyRow | undefined> {
    return trx
      .selectFrom('occupancies')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('occupancy_id', '=', occupancyId)
      .forUpdate()
      .executeTakeFirst();
  }

  close(trx: Executor, occupancyId: string, to: Date): Promise<OccupancyRow> {
    return trx
      .updateTable('occupancies')
      .set({ valid_to: to })
      .where('occupancy_id', '=', occupancyId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  listPage(
    tenantId: string,
    meterId: string | undefined,
    after: OccupancyPosition | undefined,
    limit: number,
  ): Promise<OccupancyRow[]> {
    let query = this.db.selectFrom('occupancies').selectAll().where('tenant_id', '=', tenantId);
    if (meterId !== undefined) query = query.where('meter_id', '=', meterId);
    if (after !== undefined)
      query = query.where((eb) =>
        eb(eb.refTuple('valid_from', 'occupancy_id'), '>', eb.tuple(after.from, after.occupancyId)),
      );
    return query.orderBy('valid_from').orderBy('occupancy_id').limit(limit).execute();
  }
}
