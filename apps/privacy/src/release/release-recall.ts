import { MAX_RECALLED_RELEASES, type PrivacyReleaseRecallEvent } from '@meterkeep/contracts';
import { nameUuid } from './name-uuid';
import { type ReleasedWindow, type StagedReading, isReleasable } from './release-plan';

/**
 * Recalls after a back-dated move-out: pure, no I/O.
 *
 * A released value is the sum of the occupancy's staged interval readings whose interval starts in its
 * window (release-plan.ts); staged readings stay until a back-dated close or an erasure removes them, so
 * before the close deletes them they tell which released values held readings from the close on. A
 * reading belongs by its interval start, as occupancies are [from, to): one starting at the close
 * instant is the next occupant's, one starting a minute before is not, even if it runs past it. A value
 * is recalled when it held at least one reading timed in [closedAt, recordedAt); a value whose readings
 * all precede the close is never recalled, whatever its window's end. A reading staged after its
 * window was released (late, so not in the value) can only add a recall, never hide one.
 */

export interface ReleasedValue extends ReleasedWindow {
  eventId: string;
  recipient: string;
  purpose: string;
}

export interface RecalledValue extends ReleasedValue {
  /** The earliest interval start and the latest interval end of its readings from the close on. */
  readingsFrom: number;
  readingsTo: number;
}

export function selectRecalls(
  released: readonly ReleasedValue[],
  readings: readonly Pick<StagedReading, 'intervalStart' | 'intervalMinutes'>[],
  closedAt: number,
  recordedAt: number,
): RecalledValue[] {
  const moved = readings
    .filter((r) => isReleasable(r) && r.intervalStart >= closedAt && r.intervalStart < recordedAt)
    .sort((a, b) => a.intervalStart - b.intervalStart);
  const firstAtOrAfter = (t: number) => {
    let lo = 0;
    let hi = moved.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (moved[mid]!.intervalStart < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const recalled: RecalledValue[] = [];
  for (const value of released) {
    const from = firstAtOrAfter(value.start);
    const to = firstAtOrAfter(value.end);
    if (from === to) continue;
    let readingsTo = Number.NEGATIVE_INFINITY;
    for (let i = from; i < to; i++)
      readingsTo = Math.max(readingsTo, moved[i]!.intervalStart + moved[i]!.intervalMinutes * 60_000);
    recalled.push({ ...value, readingsFrom: moved[from]!.intervalStart, readingsTo });
  }
  return recalled;
}

export interface RecallContext {
  tenantId: string;
  occupancyId: string;
  meterId: string;
  closedAt: number;
  recordedAt: number;
}

/** One notice per recipient (several past MAX_RECALLED_RELEASES), with ids stable across a re-run. */
export function recallNotices(
  recalled: readonly ReleasedValue[],
  context: RecallContext,
): PrivacyReleaseRecallEvent[] {
  const byRecipient = new Map<string, ReleasedValue[]>();
  for (const value of recalled) {
    const list = byRecipient.get(value.recipient) ?? [];
    list.push(value);
    byRecipient.set(value.recipient, list);
  }
  const notices: PrivacyReleaseRecallEvent[] = [];
  for (const [recipient, values] of [...byRecipient].sort(([a], [b]) => (a < b ? -1 : 1))) {
    values.sort((a, b) => a.start - b.start || (a.purpose < b.purpose ? -1 : a.purpose > b.purpose ? 1 : 0));
    const parts = Math.ceil(values.length / MAX_RECALLED_RELEASES);
    for (let part = 1; part <= parts; part++) {
      const chunk = values.slice((part - 1) * MAX_RECALLED_RELEASES, part * MAX_RECALLED_RELEASES);
      notices.push({
        eventId: recallNoticeId(context, recipient, part),
        tenantId: context.tenantId,
        occurredAt: new Date(context.recordedAt).toISOString(),
        reason: 'occupancy-backdated',
        occupancyId: context.occupancyId,
        meterId: context.meterId,
        recipient,
        period: {
          from: new Date(context.closedAt).toISOString(),
          to: new Date(context.recordedAt).toISOString(),
        },
        releases: chunk.map((v) => ({
          releaseId: v.eventId,
          purpose: v.purpose,
          granularity: v.level,
          windowStart: new Date(v.start).toISOString(),
          windowEnd: new Date(v.end).toISOString(),
        })),
        part,
        parts,
      });
    }
  }
  return notices;
}

/** An occupancy is closed once: its close instant, recipient and part name the notice. */
function recallNoticeId(context: RecallContext, recipient: string, part: number): string {
  return nameUuid(
    `meterkeep/release-recall/v1\0${context.occupancyId}\0${recipient}\0${context.closedAt}\0${part}`,
  );
}
