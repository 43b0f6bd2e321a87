import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { Executor } from '../core/database';

/** One meter's staged total of one register in one half-hour, with the cell the tenant put it in. */
export interface MeterWindowTotal {
  cellId: string;
  meterId: string;
  obis: string;
  unit: string;
  windowStart: number;
  quantity: number;
}

export interface NetworkReleasedRow {
  tenantId: string;
  cellId: string;
  level: string;
  windowStart: Date;
  windowEnd: Date;
  eventId: string;
  releasedAt: Date;
}

/**
 * The staged readings of a tenant's cell members, as network releases read them: every occupancy of
 * the meter whose readings key is live (an erased occupancy counts in no aggregate).
 */
const cellReadings = (tenantId: string) => sql`
  network_cell_members m
  join occupancies o on o.tenant_id = m.tenant_id and o.meter_id = m.meter_id
  join data_keys k on k.key_id = o.key_id and k.destroyed_at is null
  join release_readings r on r.occupancy_id = o.occupancy_id
  where m.tenant_id = ${tenantId}`;

@Injectable()
export class NetworkReleaseRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  get database(): Executor {
    return this.db;
  }

  async tenantsWithCells(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('network_cell_members')
      .select('tenant_id')
      .distinct()
      .orderBy('tenant_id')
      .execute();
    return rows.map((r) => r.tenant_id);
  }

  /** Up to when the tenant's windows were decided (epoch 0 at first), locked until the transaction ends. */
  async lockProgress(trx: Executor, tenantId: string): Promise<number> {
    await trx
      .insertInto('network_release_progress')
      .values({ tenant_id: tenantId, decided_until: new Date(0) })
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .execute();
    const row = await trx
      .selectFrom('network_release_progress')
      .select('decided_until')
      .where('tenant_id', '=', tenantId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    return row.decided_until.getTime();
  }

  async setProgress(trx: Executor, tenantId: string, decidedUntil: Date): Promise<void> {
    await trx
      .updateTable('network_release_progress')
      .set({ decided_until: decidedUntil })
      .where('tenant_id', '=', tenantId)
      .execute();
  }

  /**
   * Of the cell members' readings from `from` on: the earliest interval start, how far they reach
   * (interval end) and when the last was staged; undefined when there are none.
   */
  async readingStats(
    trx: Executor,
    tenantId: string,
    from: Date,
  ): Promise<{ first: number; watermark: number; lastReceivedAt: number } | undefined> {
    const { rows } = await sql<{ first: Date | null; watermark: Date | null; last_received: Date | null }>`
      select min(r.interval_start) as first,
             max(r.interval_start + r.interval_minutes * interval '1 minute') as watermark,
             max(r.received_at) as last_received
      from ${cellReadings(tenantId)} and r.interval_start >= ${from}`.execute(trx);
    const row = rows[0];
    if (!row?.first || !row.watermark || !row.last_received) return undefined;
    return {
      first: row.first.getTime(),
      watermark: row.watermark.getTime(),
      lastReceivedAt: row.last_received.getTime(),
    };
  }

  /** Per cell, meter, register and half-hour (by interval start) in [from, to): the staged sum. */
  async meterWindowTotals(
    trx: Executor,
    tenantId: string,
    from: Date,
    to: Date,
  ): Promise<MeterWindowTotal[]> {
    const { rows } = await sql<{
      cell_id: string;
      meter_id: string;
      obis: string;
      unit: string;
      window_start: Date;
      quantity: number;
    }>`
      select m.cell_id, m.meter_id, r.obis, r.unit,
             date_bin('30 minutes', r.interval_start, timestamptz '2000-01-01T00:00:00Z') as window_start,
             sum(r.quantity) as quantity
      from ${cellReadings(tenantId)} and r.interval_start >= ${from} and r.interval_start < ${to}
      group by 1, 2, 3, 4, 5`.execute(trx);
    return rows.map((r) => ({
      cellId: r.cell_id,
      meterId: r.meter_id,
      obis: r.obis,
      unit: r.unit,
      windowStart: r.window_start.getTime(),
      quantity: Number(r.quantity),
    }));
  }

  async recordReleased(trx: Executor, rows: readonly NetworkReleasedRow[]): Promise<void> {
    if (rows.length === 0) return;
    await trx
      .insertInto('network_released_windows')
      .values(
        rows.map((r) => ({
          tenant_id: r.tenantId,
          cell_id: r.cellId,
          level: r.level,
          window_start: r.windowStart,
          window_end: r.windowEnd,
          event_id: r.eventId,
          released_at: r.releasedAt,
        })),
      )
      .execute();
  }
}
