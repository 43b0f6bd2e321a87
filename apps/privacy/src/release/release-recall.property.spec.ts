import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RECALLED_RELEASES, validateEvent, PRIVACY_RELEASE_RECALLS } from '@meterkeep/contracts';
import { GRANULARITIES, type Granularity } from '../consents/policy';
import { nameUuid } from './name-uuid';
import { type StagedReading, planRelease } from './release-plan';
import { type ReleasedValue, recallNotices, selectRecalls } from './release-recall';

const LONDON = 'Europe/London';
const MINUTE = 60_000;
const HALF_HOUR = 30 * MINUTE;
// Four days across a month end and the spring DST change: monthly, daily and half-hourly windows.
const H0 = Date.parse('2026-03-28T00:00:00Z');
const H1 = Date.parse('2026-04-01T06:00:00Z');
const SLOTS = Array.from({ length: (H1 - H0) / HALF_HOUR }, (_, i) => H0 + i * HALF_HOUR);
const instant = fc.integer({ min: 0, max: (H1 - H0) / MINUTE }).map((m) => H0 + m * MINUTE);

const reading = (intervalStart: number, intervalMinutes = 30): StagedReading => ({
  obis: '1-0:1.8.0*255',
  unit: 'Wh',
  intervalStart,
  intervalMinutes,
  quantity: 1,
});
const value = (start: number, end: number, recipient = 'supplier', level = 'half-hourly'): ReleasedValue =>
  ({
    eventId: nameUuid(`${recipient}/${start}`),
    recipient,
    purpose: 'billing',
    level,
    start,
    end,
  }) as ReleasedValue;

/** What the gate released of these readings by `recordedAt`, per recipient at a fixed granularity. */
function released(
  readings: readonly StagedReading[],
  from: number,
  grants: readonly Granularity[],
  recordedAt: number,
) {
  return grants.flatMap((granularity, n) =>
    planRelease({
      timeZone: LONDON,
      occupancy: { from, to: null },
      permissions: [{ from, to: null, granularity }],
      atRelease: granularity,
      readings,
      released: [],
      closedBefore: recordedAt,
    }).map((r, i): ReleasedValue => ({
      eventId: `${n}-${i}`,
      recipient: `third-party:r${n}`,
      purpose: 'third-party',
      level: r.level,
      start: r.start,
      end: r.end,
    })),
  );
}

describe('recall after a back-dated move-out (pure selection)', () => {
  it('property: recalls exactly the released values holding a reading timed in [close, recorded), none else', () => {
    fc.assert(
      fc.property(
        fc.record({
          // Which half-hours have a reading, some of them as two quarter-hours, a few register snapshots.
          present: fc.array(fc.constantFrom(0, 1, 2, 3), {
            minLength: SLOTS.length,
            maxLength: SLOTS.length,
          }),
          from: instant,
          close: instant,
          recordedAfter: fc.integer({ min: 0, max: 4 * 48 }).map((n) => n * HALF_HOUR),
          grants: fc.array(fc.constantFrom<Granularity>(...GRANULARITIES), { minLength: 1, maxLength: 3 }),
        }),
        ({ present, from, close, recordedAfter, grants }) => {
          const closedAt = Math.max(from, close);
          const recordedAt = closedAt + recordedAfter;
          const readings = SLOTS.flatMap((t, i) => {
            if (t < from) return [];
            if (present[i] === 1) return [reading(t)];
            if (present[i] === 2) return [reading(t, 15), reading(t + 15 * MINUTE, 15)];
            if (present[i] === 3) return [reading(t, 0)];
            return [];
          });
          const values = released(readings, from, grants, recordedAt);
          const recalled = selectRecalls(values, readings, closedAt, recordedAt);
          const held = (v: ReleasedValue) =>
            readings.filter(
              (r) => r.intervalMinutes > 0 && r.intervalStart >= v.start && r.intervalStart < v.end,
            );
          const moved = (r: StagedReading) => r.intervalStart >= closedAt && r.intervalStart < recordedAt;
          const ids = new Set(recalled.map((v) => v.eventId));
          for (const v of values)
            expect(ids.has(v.eventId), `${v.level} ${v.start}`).toBe(held(v).some(moved));
          // Every moved reading that was released is in a recalled value; every recalled value's
          // readings bounds are those of its moved readings.
          for (const v of recalled) {
            const mine = held(v).filter(moved);
            expect(v.readingsFrom).toBe(Math.min(...mine.map((r) => r.intervalStart)));
            expect(v.readingsTo).toBe(
              Math.max(...mine.map((r) => r.intervalStart + r.intervalMinutes * MINUTE)),
            );
            expect(v.readingsFrom).toBeGreaterThanOrEqual(closedAt);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('by interval start: a half-hour begun before the close is not recalled, a quarter-hour from it is', () => {
    const noon = Date.parse('2026-03-30T12:00:00Z');
    const close = noon + 10 * MINUTE;
    const window = value(noon, noon + HALF_HOUR);
    expect(selectRecalls([window], [reading(noon)], close, close + 86_400_000)).toEqual([]);
    expect(
      selectRecalls(
        [window],
        [reading(noon, 15), reading(noon + 15 * MINUTE, 15)],
        close,
        close + 86_400_000,
      ),
    ).toEqual([{ ...window, readingsFrom: noon + 15 * MINUTE, readingsTo: noon + HALF_HOUR }]);
    // A reading starting at the close instant is the next occupant's (periods are [from, to)).
    expect(selectRecalls([window], [reading(close, 15)], close, close + 1)).toHaveLength(1);
    // Nothing recorded yet at the close's recording, nor a register snapshot, is recalled.
    expect(selectRecalls([window], [reading(noon + 15 * MINUTE, 15)], close, noon + 15 * MINUTE)).toEqual([]);
    expect(selectRecalls([window], [reading(noon + 20 * MINUTE, 0)], close, close + 86_400_000)).toEqual([]);
  });

  it('notices: one per recipient, split past the limit, with ids stable across a re-run and valid on the topic', () => {
    const start = Date.parse('2026-03-30T00:00:00Z');
    const many = Array.from({ length: MAX_RECALLED_RELEASES + 1 }, (_, i) =>
      value(start + i * HALF_HOUR, start + (i + 1) * HALF_HOUR, 'third-party:coach'),
    );
    const context = {
      tenantId: 'utility-north',
      occupancyId: 'occ-1',
      meterId: 'MTR-1',
      closedAt: start,
      recordedAt: start + 40 * 86_400_000,
    };
    const recalled = [value(start, start + 86_400_000, 'supplier', 'daily'), ...many];
    const notices = recallNotices(recalled, context);
    expect(notices.map((n) => [n.recipient, n.part, n.parts, n.releases.length])).toEqual([
      ['supplier', 1, 1, 1],
      ['third-party:coach', 1, 2, MAX_RECALLED_RELEASES],
      ['third-party:coach', 2, 2, 1],
    ]);
    for (const notice of notices) validateEvent(PRIVACY_RELEASE_RECALLS, notice);
    expect(new Set(notices.map((n) => n.eventId)).size).toBe(3);
    expect(recallNotices([...recalled].reverse(), context).map((n) => n.eventId)).toEqual(
      notices.map((n) => n.eventId),
    );
    expect(notices[0]!.period).toEqual({
      from: new Date(context.closedAt).toISOString(),
      to: new Date(context.recordedAt).toISOString(),
    });
  });
});
