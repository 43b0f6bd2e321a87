import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { DataKeyRow, Executor, OccupancyRow, ReleaseKeyRow } from '../core/database';
import type { ReleaseLevel } from './calendar-windows';
import type { ReleasedWindow, StagedReading } from './release-plan';

export interface NewStagedReading extends StagedReading {
  tenantId: string;
  occupancyId: string;
}

export interface ReleasedRow extends ReleasedWindow {
  recipient: string;
  purpose: string;
  eventId: string;
  keyId: string;
  releasedAt: Date;
}

/** The release gate's tables: staged readings, released windows, release keys. Same schema as privacy's. */
@Injectable()
export class ReleaseRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  get database(): Executor {
    return this.db;
  }

  /** The tenant's data keys among `keyIds` (one look-up for a slice of records). */
  findDataKeys(tenantId: string, keyIds: readonly string[]): Promise<DataKeyRow[]> {
    if (keyIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('data_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('key_id', 'in', [...new Set(keyIds)])
      .execute();
  }

  /** The tenant's occupancies among `occupancyIds`. */
  findOccupancies(tenantId: string, occupancyIds: readonly string[]): Promise<OccupancyRow[]> {
    if (occupancyIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('occupancies')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('occupancy_id', 'in', [...new Set(occupancyIds)])
      .execute();
  }

  /**
   * In the caller's transaction (a slice of records at once). Idempotent: a reading staged before
   * (redelivery, a batch sent again, the same reading twice in one slice) stays as it was. In the same
   * statement, the occupancies of the readings new to the gate are marked due when the first of them
   * could be released: its interval's end plus `graceS` (now, for a reading late for a closed window).
   * Readings staged again mark nothing.
   */
  async stage(executor: Executor, readings: readonly NewStagedReading[], graceS: number): Promise<void> {
    if (readings.length === 0) return;
    // Seven array parameters however many rows: a slice's readings (500 records × 48) would pass
    // PostgreSQL's 65,535 bind parameters as a VALUES list.
    const column = <T>(pick: (r: NewStagedReading) => T) => readings.map(pick);
    await executor
      .with('staged', (db) =>
        db
          .insertInto('release_readings')
          .columns([
            'tenant_id',
            'occupancy_id',
            'obis',
            'unit',
            'interval_start',
            'interval_minutes',
            'quantity',
          ])
          .expression(
            sql`select * from unnest(
              ${column((r) => r.tenantId)}::text[],
              ${column((r) => r.occupancyId)}::text[],
              ${column((r) => r.obis)}::text[],
              ${column((r) => r.unit)}::text[],
              ${column((r) => new Date(r.intervalStart).toISOString())}::timestamptz[],
              ${column((r) => r.intervalMinutes)}::integer[],
              ${column((r) => r.quantity)}::double precision[]
            )`,
          )
          .onConflict((oc) => oc.doNothing())
          .returning(['occupancy_id', 'interval_start', 'interval_minutes']),
      )
      .insertInto('release_schedule')
      .columns(['occupancy_id', 'due_at', 'generation'])
      .expression((eb) =>
        eb
          .selectFrom('staged')
          .select([
            'occupancy_id',
            sql<Date>`greatest(now(), min(interval_start + interval_minutes * interval '1 minute') + ${graceS} * interval '1 second')`.as(
              'due_at',
            ),
            sql<number>`1`.as('generation'),
          ])
          .groupBy('occupancy_id')
          // Rows locked in one order whatever the slice: concurrent slices cannot deadlock on them.
          .orderBy('occupancy_id'),
      )
      .onConflict((oc) =>
        oc.column('occupancy_id').doUpdateSet({
          due_at: sql<Date>`least(release_schedule.due_at, excluded.due_at)`,
          generation: sql<string>`release_schedule.generation + 1`,
        }),
      )
      .execute();
  }

  /**
   * Marks occupancies due at `at` (now by default), in the caller's transaction: something that changes
   * what may be released (a consent change, a closure, a key destroyed) is planned by the next pass.
   */
  async markDue(executor: Executor, occupancyIds: readonly string[], at?: Date): Promise<void> {
    if (occupancyIds.length === 0) return;
    const dueAt = at ?? sql<Date>`now()`;
    await executor
      .insertInto('release_schedule')
      .values(
        [...new Set(occupancyIds)].sort().map((id) => ({ occupancy_id: id, due_at: dueAt, generation: 1 })),
      )
      .onConflict((oc) =>
        oc.column('occupancy_id').doUpdateSet({
          due_at: sql<Date>`least(release_schedule.due_at, excluded.due_at)`,
          generation: sql<string>`release_schedule.generation + 1`,
        }),
      )
      .execute();
  }

  /** The occupancies due by `now`, earliest first: what a pass plans. */
  async occupanciesDue(now: Date): Promise<string[]> {
    const rows = await this.db
      .selectFrom('release_schedule')
      .select('occupancy_id')
      .where('due_at', '<=', now)
      .orderBy('due_at')
      .execute();
    return rows.map((r) => r.occupancy_id);
  }

  /** The occupancy's schedule as a plan starts (read after the occupancy's lock, before its readings). */
  async schedule(
    trx: Executor,
    occupancyId: string,
  ): Promise<{ dueAt: Date | null; generation: string } | undefined> {
    const row = await trx
      .selectFrom('release_schedule')
      .select(['due_at', 'generation'])
      .where('occupancy_id', '=', occupancyId)
      .executeTakeFirst();
    return row && { dueAt: row.due_at, generation: String(row.generation) };
  }

  /**
   * After a plan: due next at `next` (null: not until marked), unless a mark came in since the plan read
   * `generation` (a reading staged, a replica's plan): then it stays due and the next pass plans again.
   */
  async reschedule(
    trx: Executor,
    occupancyId: string,
    generation: string,
    next: Date | null,
    plannedAt: Date,
  ): Promise<void> {
    await trx
      .updateTable('release_schedule')
      .set({ due_at: next, planned_at: plannedAt })
      .where('occupancy_id', '=', occupancyId)
      .where('generation', '=', generation)
      .execute();
  }

  /**
   * The occupancy, share-locked until the transaction ends: a consent change (which locks it for
   * update) waits for a release under way, so nothing is released under a permission already withdrawn.
   */
  lockOccupancy(trx: Executor, occupancyId: string): Promise<OccupancyRow | undefined> {
    return trx
      .selectFrom('occupancies')
      .selectAll()
      .where('occupancy_id', '=', occupancyId)
      .forShare()
      .executeTakeFirst();
  }

  /** The staged readings, how far they reach (interval end) and when the last one was staged. */
  async readings(
    trx: Executor,
    occupancyId: string,
    since: Date,
  ): Promise<{ readings: StagedReading[]; watermark: number; lastReceivedAt: number }> {
    const rows = await trx
      .selectFrom('release_readings')
      .select(['obis', 'unit', 'interval_start', 'interval_minutes', 'quantity', 'received_at'])
      .where('occupancy_id', '=', occupancyId)
      .where('interval_start', '>=', since)
      .execute();
    let watermark = 0;
    let lastReceivedAt = 0;
    const readings = rows.map((r) => {
      const intervalStart = r.interval_start.getTime();
      watermark = Math.max(watermark, intervalStart + r.interval_minutes * 60_000);
      lastReceivedAt = Math.max(lastReceivedAt, r.received_at.getTime());
      return {
        obis: r.obis,
        unit: r.unit,
        intervalStart,
        intervalMinutes: r.interval_minutes,
        quantity: r.quantity,
      };
    });
    return { readings, watermark, lastReceivedAt };
  }

  async released(
    trx: Executor,
    occupancyId: string,
  ): Promise<(ReleasedWindow & { recipient: string; purpose: string })[]> {
    const rows = await trx
      .selectFrom('released_windows')
      .select(['recipient', 'purpose', 'level', 'window_start', 'window_end'])
      .where('occupancy_id', '=', occupancyId)
      .execute();
    return rows.map((r) => ({
      recipient: r.recipient,
      purpose: r.purpose,
      level: r.level as ReleaseLevel,
      start: r.window_start.getTime(),
      end: r.window_end.getTime(),
    }));
  }

  async recordReleased(trx: Executor, occupancyId: string, rows: readonly ReleasedRow[]): Promise<void> {
    if (rows.length === 0) return;
    await trx
      .insertInto('released_windows')
      .values(
        rows.map((r) => ({
          occupancy_id: occupancyId,
          recipient: r.recipient,
          purpose: r.purpose,
          level: r.level,
          window_start: new Date(r.start),
          window_end: new Date(r.end),
          event_id: r.eventId,
          key_id: r.keyId,
          released_at: r.releasedAt,
        })),
      )
      .execute();
  }

  /** The live key of (occupancy, recipient, purpose), if there is one (one destroyed is never used again). */
  findLiveReleaseKey(
    trx: Executor,
    occupancyId: string,
    recipient: string,
    purpose: string,
  ): Promise<ReleaseKeyRow | undefined> {
    return trx
      .selectFrom('release_keys')
      .selectAll()
      .where('occupancy_id', '=', occupancyId)
      .where('recipient', '=', recipient)
      .where('purpose', '=', purpose)
      .where('destroyed_at', 'is', null)
      .executeTakeFirst();
  }

  /** The occupancy's live release keys (all recipients, or one), locked until the transaction ends. */
  lockLiveReleaseKeys(trx: Executor, occupancyId: string, recipient?: string): Promise<ReleaseKeyRow[]> {
    let query = trx
      .selectFrom('release_keys')
      .selectAll()
      .where('occupancy_id', '=', occupancyId)
      .where('destroyed_at', 'is', null);
    if (recipient !== undefined) query = query.where('recipient', '=', recipient);
    return query.orderBy('key_id').forUpdate().execute();
  }

  /** Wipes a release key, keeping a commitment to its wrapped bytes: its released copies open no more. */
  destroyReleaseKey(trx: Executor, keyId: string, at: Date): Promise<ReleaseKeyRow> {
    return trx
      .updateTable('release_keys')
      .set({ wrapped_key: null, destroyed_at: at, wrapped_key_sha256: sql`sha256(wrapped_key)` })
      .where('key_id', '=', keyId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Whether the occupancy's readings key is gone (erased): nothing of it is released any more. */
  async readingsKeyDestroyed(trx: Executor, occupancy: OccupancyRow): Promise<boolean> {
    const row = await trx
      .selectFrom('data_keys')
      .select('destroyed_at')
      .where('key_id', '=', occupancy.key_id)
      .executeTakeFirst();
    return row === undefined || row.destroyed_at !== null;
  }

  /** Deletes the occupancies' staged readings (values in the clear); answers how many went. */
  async deleteStagedReadings(trx: Executor, occupancyIds: readonly string[]): Promise<number> {
    if (occupancyIds.length === 0) return 0;
    const result = await trx
      .deleteFrom('release_readings')
      .where('occupancy_id', 'in', occupancyIds)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /**
   * Deletes the occupancy's staged readings from `from` on (a back-dated move-out: they are not its
   * data, and its release must never see them); answers how many went.
   */
  async deleteStagedFrom(trx: Executor, occupancyId: string, from: Date): Promise<number> {
    const result = await trx
      .deleteFrom('release_readings')
      .where('occupancy_id', '=', occupancyId)
      .where('interval_start', '>=', from)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  insertReleaseKey(
    trx: Executor,
    row: Omit<ReleaseKeyRow, 'created_at' | 'destroyed_at' | 'wrapped_key_sha256'>,
  ): Promise<ReleaseKeyRow> {
    return trx.insertInto('release_keys').values(row).returningAll().executeTakeFirstOrThrow();
  }
}
