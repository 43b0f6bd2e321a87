import { Injectable } from '@nestjs/common';
import type { Executor } from '../core/database';
import type { ReleaseLevel } from './calendar-windows';
import type { RecalledValue, ReleasedValue } from './release-recall';

export interface NewRecall extends RecalledValue {
  noticeId: string;
}

/** The release ledger as a recall reads it, and the recalls made (release_recalls, migration 0019). */
@Injectable()
export class ReleaseRecallsRepository {
  /** The occupancy's released values whose window reaches past `from`: the only ones that can hold readings from then on. */
  async releasedReaching(trx: Executor, occupancyId: string, from: Date): Promise<ReleasedValue[]> {
    const rows = await trx
      .selectFrom('released_windows')
      .select(['event_id', 'recipient', 'purpose', 'level', 'window_start', 'window_end'])
      .where('occupancy_id', '=', occupancyId)
      .where('window_end', '>', from)
      .execute();
    return rows.map((r) => ({
      eventId: r.event_id,
      recipient: r.recipient,
      purpose: r.purpose,
      level: r.level as ReleaseLevel,
      start: r.window_start.getTime(),
      end: r.window_end.getTime(),
    }));
  }

  /** The occupancy's staged reading times from `from` on (read before a back-dated close deletes them). */
  async stagedFrom(
    trx: Executor,
    occupancyId: string,
    from: Date,
  ): Promise<{ intervalStart: number; intervalMinutes: number }[]> {
    const rows = await trx
      .selectFrom('release_readings')
      .select(['interval_start', 'interval_minutes'])
      .where('occupancy_id', '=', occupancyId)
      .where('interval_start', '>=', from)
      .execute();
    return rows.map((r) => ({
      intervalStart: r.interval_start.getTime(),
      intervalMinutes: r.interval_minutes,
    }));
  }

  /** Records the recalls; answers the release ids new to the table (one recalled before stays as it was). */
  async record(
    trx: Executor,
    recall: { tenantId: string; meterId: string; occupancyId: string; closedAt: Date; recordedAt: Date },
    values: readonly NewRecall[],
  ): Promise<Set<string>> {
    if (values.length === 0) return new Set();
    const rows = await trx
      .insertInto('release_recalls')
      .values(
        values.map((v) => ({
          release_event_id: v.eventId,
          tenant_id: recall.tenantId,
          meter_id: recall.meterId,
          occupancy_id: recall.occupancyId,
          recipient: v.recipient,
          reason: 'occupancy-backdated' as const,
          notice_id: v.noticeId,
          period_from: recall.closedAt,
          period_to: recall.recordedAt,
          readings_from: new Date(v.readingsFrom),
          readings_to: new Date(v.readingsTo),
          recalled_at: recall.recordedAt,
        })),
      )
      .onConflict((oc) => oc.column('release_event_id').doNothing())
      .returning('release_event_id')
      .execute();
    return new Set(rows.map((r) => r.release_event_id));
  }
}
