import { Inject, Injectable } from '@nestjs/common';
import { type Selectable, sql } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { Executor, RetentionSchedulesTable } from '../core/database';

export type RetentionScheduleRow = Selectable<RetentionSchedulesTable>;

/**
 * The schedule of this purpose is the tenant's readings retention: an occupancy's readings key is
 * destroyed that many days after the occupancy closed (spec privacy.md §4.8). No schedule, no expiry.
 */
export const READINGS_RETENTION_PURPOSE = 'readings';

export interface ReadingsPastRetention {
  tenant_id: string;
  occupancy_id: string;
  meter_id: string;
  key_id: string;
  /** The occupancy's end plus the tenant's readings retention. */
  retain_until: Date;
}

/** A tenant's retention period per purpose. */
@Injectable()
export class RetentionSchedulesRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  upsert(trx: Executor, row: RetentionScheduleRow): Promise<RetentionScheduleRow> {
    const { tenant_id: _tenant, purpose: _purpose, ...changes } = row;
    return trx
      .insertInto('retention_schedules')
      .values(row)
      .onConflict((oc) => oc.columns(['tenant_id', 'purpose']).doUpdateSet(changes))
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  find(
    tenantId: string,
    purpose: string,
    executor: Executor = this.db,
  ): Promise<RetentionScheduleRow | undefined> {
    return executor
      .selectFrom('retention_schedules')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('purpose', '=', purpose)
      .executeTakeFirst();
  }

  list(tenantId: string): Promise<RetentionScheduleRow[]> {
    return this.db
      .selectFrom('retention_schedules')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('purpose')
      .execute();
  }

  /**
   * Closed occupancies whose readings retention has run out and whose readings key lives, oldest first,
   * each occupancy locked (SKIP LOCKED: one a release pass or another replica holds waits for the next
   * run). Occupancy first, then its key: the order the erasure saga and the release gate lock in.
   */
  async lockReadingsPastRetention(trx: Executor, now: Date, limit: number): Promise<ReadingsPastRetention[]> {
    const { rows } = await sql<ReadingsPastRetention>`
      select o.tenant_id, o.occupancy_id, o.meter_id, o.key_id,
        o.valid_to + make_interval(days => s.retain_days) as retain_until
      from occupancies o
      join retention_schedules s on s.tenant_id = o.tenant_id and s.purpose = ${READINGS_RETENTION_PURPOSE}
      join data_keys k on k.key_id = o.key_id and k.destroyed_at is null
      where o.valid_to is not null and o.valid_to + make_interval(days => s.retain_days) <= ${now}
      order by o.valid_to, o.occupancy_id
      limit ${limit}
      for update of o skip locked`.execute(trx);
    return rows;
  }
}
