import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GRANULARITIES, type Granularity } from '../consents/policy';
import {
  type PermissionSpan,
  type ReleasedWindow,
  type StagedReading,
  closedBefore,
  nextPlanAt,
  planRelease,
  planReleaseAhead,
} from './release-plan';

// The release gate plans an occupancy again only at nextPlanAt() unless something is marked (a reading
// staged, a ledger or occupancy change). Skipping the passes in between must lose nothing: planned at
// any instant before nextPlanAt, with no change, the occupancy releases nothing more than it did.

const LONDON = 'Europe/London';
const MINUTE = 60_000;
const HALF_HOUR = 30 * MINUTE;
const DAY = 24 * 60 * MINUTE;
// Across a month end and the spring DST change (29 March 2026).
const H0 = Date.parse('2026-03-27T00:00:00Z');
const H1 = Date.parse('2026-04-02T00:00:00Z');
const SLOTS = (H1 - H0) / HALF_HOUR;

const granularity = fc.constantFrom<Granularity>(...GRANULARITIES);

/** A permission timeline fixed in advance (no ledger change): cuts at random half-hours. */
const timeline = fc
  .tuple(
    fc.uniqueArray(fc.integer({ min: 1, max: SLOTS + 96 }), { maxLength: 3 }),
    fc.array(granularity, { minLength: 4, maxLength: 4 }),
  )
  .map(([cuts, levels]) => {
    const points = [H0 - DAY, ...cuts.sort((a, b) => a - b).map((c) => H0 + c * HALF_HOUR)];
    return points.map<PermissionSpan>((from, i) => ({
      from,
      to: points[i + 1] ?? null,
      granularity: levels[i]!,
    }));
  });

const scenario = fc.record({
  permissions: timeline,
  // Which half-hours have a reading (staged by `now`).
  slots: fc.uniqueArray(fc.integer({ min: 0, max: SLOTS - 1 }), { minLength: 1, maxLength: 120 }),
  // Minutes after H0: when the plan runs, and how long ago the last reading came in.
  nowMinutes: fc.integer({ min: 0, max: (SLOTS / 2 + 72) * 60 }),
  quietMinutes: fc.integer({ min: 0, max: 120 }),
  graceMinutes: fc.integer({ min: 0, max: 60 }),
  // Later instants tried, as fractions of the way to nextPlanAt (or of 40 days when none).
  probes: fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), {
    minLength: 1,
    maxLength: 6,
  }),
});

const atTime = (permissions: readonly PermissionSpan[], t: number): Granularity =>
  permissions.find((p) => p.from <= t && (p.to === null || t < p.to))?.granularity ?? 'none';

describe('release schedule: no release is lost by planning only when due', () => {
  it('planned at any instant before nextPlanAt with no change, nothing more is released', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const now = H0 + s.nowMinutes * MINUTE;
        const graceMs = s.graceMinutes * MINUTE;
        const readings: StagedReading[] = s.slots.map((i) => ({
          obis: '1-0:1.8.0*255',
          unit: 'Wh',
          intervalStart: H0 + i * HALF_HOUR,
          intervalMinutes: 30,
          quantity: 1,
        }));
        const watermark = Math.max(...readings.map((r) => r.intervalStart + HALF_HOUR));
        const lastReceivedAt = now - s.quietMinutes * MINUTE;
        const input = (t: number, released: readonly ReleasedWindow[]) => ({
          timeZone: LONDON,
          occupancy: { from: H0 - DAY, to: null },
          permissions: s.permissions,
          atRelease: atTime(s.permissions, t),
          readings,
          released,
          closedBefore: closedBefore({ now: t, graceMs, watermark, lastReceivedAt }),
        });
        const first = planReleaseAhead(input(now, []));
        const next = nextPlanAt({
          now,
          graceMs,
          pendingEnd: first.pendingEnd,
          watermark,
          lastReceivedAt,
          permissionBoundaries: s.permissions.flatMap((p) => (p.to === null ? [p.from] : [p.from, p.to])),
        });
        expect(next === null || next > now).toBe(true);
        const horizon = next ?? now + 40 * DAY;
        for (const fraction of s.probes) {
          const t = Math.floor(now + (horizon - now) * fraction);
          if (t <= now || t >= horizon) continue;
          expect(planRelease(input(t, first.releases))).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a window that closes later is released at nextPlanAt, with no new reading', () => {
    const may = Date.parse('2026-05-10T00:00:00Z');
    const readings: StagedReading[] = [
      { obis: '1-0:1.8.0*255', unit: 'Wh', intervalStart: may, intervalMinutes: 30, quantity: 5 },
    ];
    const graceMs = 15 * MINUTE;
    const now = may + 60 * MINUTE;
    const input = (t: number) => ({
      timeZone: LONDON,
      occupancy: { from: Date.parse('2026-01-01T00:00:00Z'), to: null },
      permissions: [{ from: Date.parse('2026-01-01T00:00:00Z'), to: null, granularity: 'monthly' as const }],
      atRelease: 'monthly' as const,
      readings,
      released: [],
      closedBefore: closedBefore({ now: t, graceMs, watermark: may + HALF_HOUR, lastReceivedAt: may + 1 }),
    });
    const first = planReleaseAhead(input(now));
    expect(first.releases).toEqual([]);
    // The local month of May ends at 23:00 UTC on 31 May (BST).
    expect(first.pendingEnd).toBe(Date.parse('2026-05-31T23:00:00Z'));
    const next = nextPlanAt({
      now,
      graceMs,
      pendingEnd: first.pendingEnd,
      watermark: may + HALF_HOUR,
      lastReceivedAt: may + 1,
      permissionBoundaries: [Date.parse('2026-01-01T00:00:00Z')],
    });
    expect(next).toBe(Date.parse('2026-05-31T23:15:00Z'));
    expect(planRelease(input(next! - 1))).toEqual([]);
    expect(planRelease(input(next!)).map((r) => r.level)).toEqual(['monthly']);
  });

  it('while readings arrive short of a pending window, waits for them or for the grace of quiet', () => {
    const base = {
      now: Date.parse('2026-05-01T10:00:00Z'),
      graceMs: 15 * MINUTE,
      watermark: Date.parse('2026-05-01T09:00:00Z'),
      lastReceivedAt: Date.parse('2026-05-01T09:55:00Z'),
      permissionBoundaries: [],
    };
    // A window ending before the watermark closes by the clock: its end plus grace.
    expect(
      nextPlanAt({
        ...base,
        now: Date.parse('2026-05-01T09:10:00Z'),
        pendingEnd: Date.parse('2026-05-01T09:00:00Z'),
      }),
    ).toBe(Date.parse('2026-05-01T09:15:00Z'));
    // One the readings do not reach yet: when the meter fell quiet for the grace.
    expect(nextPlanAt({ ...base, pendingEnd: Date.parse('2026-05-01T09:30:00Z') })).toBe(
      Date.parse('2026-05-01T10:10:00Z'),
    );
    // Nothing pending, no permission boundary ahead: not until something is marked.
    expect(nextPlanAt({ ...base, pendingEnd: null })).toBeNull();
    // A grant that ends later changes the permission at release time by itself.
    expect(
      nextPlanAt({ ...base, pendingEnd: null, permissionBoundaries: [Date.parse('2026-06-01T00:00:00Z')] }),
    ).toBe(Date.parse('2026-06-01T00:00:00Z'));
  });
});
