import type { OccupancyRow } from '../core/database';
import type { ReleaseRecallRow, ReleasedWindowRow } from './exports.repository';

/** One line of releases.json: what left, to whom, at which granularity, when (Art. 15(1)(c)). */
export interface ReleaseEntry {
  occupancyId: string;
  recipient: string;
  purpose: string;
  granularity: string;
  windowStart: string;
  windowEnd: string;
  releasedAt: string;
  eventId: string;
  /** Absent for the occupancy's own releases; a value of another occupancy's that held its readings. */
  releasedUnder?: 'another-occupancy-consent';
  /** For those: the times of this occupancy's readings the value held. */
  readingsFrom?: string;
  readingsTo?: string;
  /** Set once the value was recalled from its recipient; `from`, the move-out, on the own ones only. */
  recalled?: { at: string; reason: string; from?: string };
}

const iso = (d: Date) => d.toISOString();

/**
 * The export's releases: the occupancies' own (a recalled one marked, from the move-out instant, which
 * the subject's own period shows), then values released under another occupancy's consent that held
 * readings in one of their periods (recalled by construction), with that occupancy's readings' bounds
 * and never the other occupancy's id or its readings' times outside the period.
 */
export function releaseEntries(
  occupancies: readonly OccupancyRow[],
  own: readonly ReleasedWindowRow[],
  recalls: readonly ReleaseRecallRow[],
  others: readonly (ReleaseRecallRow & ReleasedWindowRow)[],
): ReleaseEntry[] {
  const recallOf = new Map(recalls.map((r) => [r.release_event_id, r]));
  const base = (r: ReleasedWindowRow) => ({
    recipient: r.recipient,
    purpose: r.purpose,
    granularity: r.level,
    windowStart: iso(r.window_start),
    windowEnd: iso(r.window_end),
    releasedAt: iso(r.released_at),
    eventId: r.event_id,
  });
  const recalled = (r: ReleaseRecallRow, own: boolean) => ({
    recalled: { at: iso(r.recalled_at), reason: r.reason, ...(own && { from: iso(r.period_from) }) },
  });
  const entries: ReleaseEntry[] = own.map((r) => {
    const recall = recallOf.get(r.event_id);
    return { occupancyId: r.occupancy_id, ...base(r), ...(recall && recalled(recall, true)) };
  });
  for (const occupancy of occupancies) {
    const from = occupancy.valid_from.getTime();
    const to = occupancy.valid_to?.getTime() ?? Number.POSITIVE_INFINITY;
    for (const r of others) {
      if (r.meter_id !== occupancy.meter_id || r.occupancy_id === occupancy.occupancy_id) continue;
      const readingsFrom = Math.max(from, r.readings_from.getTime());
      const readingsTo = Math.min(to, r.readings_to.getTime());
      if (readingsFrom >= readingsTo) continue;
      entries.push({
        occupancyId: occupancy.occupancy_id,
        ...base(r),
        releasedUnder: 'another-occupancy-consent',
        readingsFrom: new Date(readingsFrom).toISOString(),
        readingsTo: new Date(readingsTo).toISOString(),
        ...recalled(r, false),
      });
    }
  }
  return entries;
}
