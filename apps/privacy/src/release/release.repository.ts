import { Inject, Injectable } from '@nestjs/common';
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

  findDataKey(tenantId: string, keyId: string): Promise<DataKeyRow | undefined> {
    return this.db
      .selectFrom('data_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('key_id', '=', keyId)
      .executeTakeFirst();
  }

  findOccupancy(tenantId: string, occupancyId: string): Promise<OccupancyRow | undefined> {
    return this.db
      .selectFrom('occupancies')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('occupancy_id', '=', occupancyId)
      .executeTakeFirst();
  }

  /** Idempotent: a reading staged before (redelivery, a batch sent again) stays as it was. */
  async stage(readings: readonly NewStagedReading[]): Promise<void> {
    if (readings.length === 0) return;
    await this.db
      .insertInto('release_readings')
      .values(
        readings.map((r) => ({
          tenant_id: r.tenantId,
          occupancy_id: r.occupancyId,
          obis: r.obis,
          unit: r.unit,
          interval_start: new Date(r.intervalStart),
          interval_minutes: r.intervalMinutes,
          quantity: r.quantity,
        })),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /** Occupancies with readings in the look-back. */
  async occupanciesWithReadings(since: Date): Promise<string[]> {
    const rows = await this.db
      .selectFrom('release_readings')
      .select('occupancy_id')
      .distinct()
      .where('interval_start', '>=', since)
      .execute();
    return rows.map((r) => r.occupancy_id);
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

  findReleaseKey(
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
      .executeTakeFirst();
  }

  insertReleaseKey(
    trx: Executor,
    row: Omit<ReleaseKeyRow, 'created_at' | 'destroyed_at'>,
  ): Promise<ReleaseKeyRow> {
    return trx.insertInto('release_keys').values(row).returningAll().executeTakeFirstOrThrow();
  }
}
