import { describe, expect, it } from 'vitest';
import { childWindows, windowOf } from './calendar-windows';
import {
  type PermissionSpan,
  type ReleasePlanInput,
  type ReleasedWindow,
  type StagedReading,
  closedBefore,
  planRelease,
} from './release-plan';

const LONDON = 'Europe/London';
const HALF_HOUR = 30 * 60_000;
const HOUR = 2 * HALF_HOUR;
const at = (iso: string) => Date.parse(iso);
const IMPORT = '1-0:1.8.0*255';

/** One half-hourly interval reading of `quantity` Wh every half-hour in [from, to). */
function halfHours(from: number, to: number, quantity = 1): StagedReading[] {
  const readings: StagedReading[] = [];
  for (let t = from; t < to; t += HALF_HOUR)
    readings.push({ obis: IMPORT, unit: 'Wh', intervalStart: t, intervalMinutes: 30, quantity });
  return readings;
}

function plan(
  overrides: Partial<ReleasePlanInput> & { now?: number; graceMs?: number },
): ReturnType<typeof planRelease> {
  const { now = at('2027-01-01T00:00:00Z'), graceMs = 0, ...rest } = overrides;
  return planRelease({
    timeZone: LONDON,
    occupancy: { from: at('2026-01-01T00:00:00Z'), to: null },
    permissions: [{ from: at('2026-01-01T00:00:00Z'), to: null, granularity: 'monthly' }],
    atRelease: 'monthly',
    readings: [],
    released: [],
    closedBefore: now - graceMs,
    ...rest,
  });
}

const iso = (ms: number) => new Date(ms).toISOString();
const bounds = (r: ReleasedWindow) => [r.level, iso(r.start), iso(r.end)];

describe('calendar windows (Europe/London)', () => {
  it('cuts local months and days at local midnight, BST and GMT alike', () => {
    const july = windowOf(LONDON, 'monthly', at('2026-07-15T12:00:00Z'));
    expect([iso(july.start), iso(july.end)]).toEqual([
      '2026-06-30T23:00:00.000Z',
      '2026-07-31T23:00:00.000Z',
    ]);
    const day = windowOf(LONDON, 'daily', at('2026-07-15T23:30:00Z'));
    expect([iso(day.start), iso(day.end)]).toEqual(['2026-07-15T23:00:00.000Z', '2026-07-16T23:00:00.000Z']);
    const winter = windowOf(LONDON, 'daily', at('2026-12-03T10:00:00Z'));
    expect(iso(winter.start)).toBe('2026-12-03T00:00:00.000Z');
  });

  it('egress.dst-days: the spring day holds 46 half-hours and the autumn day 50', () => {
    const spring = windowOf(LONDON, 'daily', at('2026-03-29T12:00:00Z'));
    const autumn = windowOf(LONDON, 'daily', at('2026-10-25T12:00:00Z'));
    expect(childWindows(LONDON, 'daily', spring)).toHaveLength(46);
    expect(childWindows(LONDON, 'daily', autumn)).toHaveLength(50);
    expect(childWindows(LONDON, 'daily', windowOf(LONDON, 'daily', at('2026-03-30T12:00:00Z')))).toHaveLength(
      48,
    );
  });

  it('tiles a month with its local days', () => {
    const march = windowOf(LONDON, 'monthly', at('2026-03-10T00:00:00Z'));
    const days = childWindows(LONDON, 'monthly', march);
    expect(days).toHaveLength(31);
    expect(days[0]!.start).toBe(march.start);
    expect(days.at(-1)!.end).toBe(march.end);
  });
});

describe('planRelease', () => {
  it('monthly permission: one value per calendar month, nothing finer', () => {
    const readings = halfHours(at('2026-01-01T00:00:00Z'), at('2026-03-01T00:00:00Z'));
    const releases = plan({ readings });
    expect(releases.map(bounds)).toEqual([
      ['monthly', '2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z'],
      ['monthly', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
    ]);
    expect(releases.map((r) => r.totals)).toEqual([
      [{ obis: IMPORT, unit: 'Wh', quantity: 31 * 48, readingCount: 31 * 48 }],
      [{ obis: IMPORT, unit: 'Wh', quantity: 28 * 48, readingCount: 28 * 48 }],
    ]);
  });

  it('daily permission: one value per local day, cut at local midnight in summer', () => {
    const from = at('2026-07-01T00:00:00Z');
    const permissions: PermissionSpan[] = [
      { from: at('2026-01-01T00:00:00Z'), to: null, granularity: 'daily' },
    ];
    const releases = plan({
      readings: halfHours(from, from + 3 * 24 * HOUR),
      permissions,
      atRelease: 'daily',
    });
    // The readings start at 01:00 local on 1 July, so the 1st holds 46 of its half-hours.
    expect(releases.map(bounds)).toEqual([
      ['daily', '2026-06-30T23:00:00.000Z', '2026-07-01T23:00:00.000Z'],
      ['daily', '2026-07-01T23:00:00.000Z', '2026-07-02T23:00:00.000Z'],
      ['daily', '2026-07-02T23:00:00.000Z', '2026-07-03T23:00:00.000Z'],
      ['daily', '2026-07-03T23:00:00.000Z', '2026-07-04T23:00:00.000Z'],
    ]);
    expect(releases.map((r) => r.totals[0]!.quantity)).toEqual([46, 48, 48, 2]);
  });

  it('egress.dst-days: daily values of the DST days sum 46 and 50 half-hours, the month the same total', () => {
    const permissions: PermissionSpan[] = [
      { from: at('2026-01-01T00:00:00Z'), to: null, granularity: 'daily' },
    ];
    for (const [day, count] of [
      ['2026-03-29', 46],
      ['2026-10-25', 50],
    ] as const) {
      const window = windowOf(LONDON, 'daily', at(`${day}T12:00:00Z`));
      const readings = halfHours(window.start, window.end, 3);
      const [release, ...more] = plan({ readings, permissions, atRelease: 'daily' });
      expect(more).toEqual([]);
      expect(release!.totals).toEqual([
        { obis: IMPORT, unit: 'Wh', quantity: 3 * count, readingCount: count },
      ]);
      const monthly = plan({ readings });
      expect(monthly[0]!.totals[0]!.quantity).toBe(3 * count);
    }
  });

  it('egress.window-cut-at-occupancy-boundary: two occupants of one month get a partial value each', () => {
    const moveOut = at('2026-05-14T10:37:00Z');
    const readings = halfHours(at('2026-04-30T23:00:00Z'), at('2026-05-31T23:00:00Z'));
    const permissionsFor = (from: number): PermissionSpan[] => [{ from, to: null, granularity: 'monthly' }];
    const first = plan({
      occupancy: { from: at('2026-01-01T00:00:00Z'), to: moveOut },
      permissions: permissionsFor(at('2026-01-01T00:00:00Z')),
      readings,
    });
    const second = plan({
      occupancy: { from: moveOut, to: null },
      permissions: permissionsFor(moveOut),
      readings,
    });
    expect(first.map(bounds)).toEqual([['monthly', '2026-04-30T23:00:00.000Z', '2026-05-14T10:37:00.000Z']]);
    expect(second.map(bounds)).toEqual([['monthly', '2026-05-14T10:37:00.000Z', '2026-05-31T23:00:00.000Z']]);
    const total = first[0]!.totals[0]!.quantity + second[0]!.totals[0]!.quantity;
    expect(total).toBe(readings.length);
  });

  it('releases a window only once it closed and its grace for late readings passed', () => {
    const readings = halfHours(at('2026-02-01T00:00:00Z'), at('2026-02-20T00:00:00Z'));
    expect(plan({ readings, now: at('2026-02-20T00:00:00Z') })).toEqual([]);
    expect(plan({ readings, now: at('2026-03-01T00:00:00Z'), graceMs: HOUR })).toEqual([]);
    expect(plan({ readings, now: at('2026-03-01T01:00:00Z'), graceMs: HOUR })).toHaveLength(1);
  });

  it('while readings still arrive, a window closes no later than they reached (a backlog is no gap)', () => {
    const now = at('2026-12-03T00:00:00Z');
    const graceMs = 15 * 60_000;
    const watermark = at('2026-01-12T00:00:00Z');
    const catchingUp = closedBefore({ now, graceMs, watermark, lastReceivedAt: now - 1_000 });
    expect(catchingUp).toBe(watermark);
    const readings = halfHours(at('2026-01-01T00:00:00Z'), watermark);
    expect(plan({ readings, closedBefore: catchingUp })).toEqual([]);
    // Quiet for the grace: the clock decides.
    expect(closedBefore({ now, graceMs, watermark, lastReceivedAt: now - graceMs })).toBe(now - graceMs);
    // Live: the clock, with the grace, comes first.
    expect(closedBefore({ now, graceMs, watermark: now, lastReceivedAt: now })).toBe(now - graceMs);
  });

  it('never releases register snapshots (running totals) and never a window twice', () => {
    const readings: StagedReading[] = [
      ...halfHours(at('2026-02-01T00:00:00Z'), at('2026-02-02T00:00:00Z')),
      {
        obis: IMPORT,
        unit: 'Wh',
        intervalStart: at('2026-02-01T12:00:00Z'),
        intervalMinutes: 0,
        quantity: 99_999,
      },
    ];
    const [release] = plan({ readings });
    expect(release!.totals[0]).toEqual({ obis: IMPORT, unit: 'Wh', quantity: 48, readingCount: 48 });
    expect(plan({ readings, released: [release!] })).toEqual([]);
  });

  it('both-times rule: permission at release time caps what the reading time allowed', () => {
    const readings = halfHours(at('2026-02-01T00:00:00Z'), at('2026-02-03T00:00:00Z'));
    const permissions: PermissionSpan[] = [
      { from: at('2026-01-01T00:00:00Z'), to: null, granularity: 'half-hourly' },
    ];
    expect(plan({ readings, permissions, atRelease: 'half-hourly' })).toHaveLength(96);
    expect(plan({ readings, permissions, atRelease: 'daily' }).map((r) => r.level)).toEqual([
      'daily',
      'daily',
    ]);
    expect(plan({ readings, permissions, atRelease: 'none' })).toEqual([]);
  });

  it('both-times rule: a half-hour recorded under a withdrawn consent is never released half-hourly later', () => {
    const withdrawn = at('2026-02-10T00:00:00Z');
    const regranted = at('2026-02-20T00:00:00Z');
    const permissions: PermissionSpan[] = [
      { from: at('2026-01-01T00:00:00Z'), to: withdrawn, granularity: 'half-hourly' },
      { from: withdrawn, to: regranted, granularity: 'daily' },
      { from: regranted, to: null, granularity: 'half-hourly' },
    ];
    const readings = halfHours(at('2026-02-10T00:00:00Z'), at('2026-02-11T00:00:00Z'));
    const releases = plan({ readings, permissions, atRelease: 'half-hourly' });
    expect(releases.map(bounds)).toEqual([['daily', '2026-02-10T00:00:00.000Z', '2026-02-11T00:00:00.000Z']]);
  });

  it('a month whose days were released daily is not released whole after an opt-out to monthly', () => {
    const readings = halfHours(at('2026-02-01T00:00:00Z'), at('2026-03-01T00:00:00Z'));
    const optOut = at('2026-02-15T00:00:00Z');
    const daily: PermissionSpan[] = [{ from: at('2026-01-01T00:00:00Z'), to: null, granularity: 'daily' }];
    const early = plan({ readings, permissions: daily, atRelease: 'daily', now: optOut });
    expect(early).toHaveLength(14);
    const later = plan({
      readings,
      permissions: [
        { from: at('2026-01-01T00:00:00Z'), to: optOut, granularity: 'daily' },
        { from: optOut, to: null, granularity: 'monthly' },
      ],
      atRelease: 'monthly',
      released: early,
    });
    // Days 15-28 under monthly only: neither a daily value nor a month overlapping the released days.
    expect(later).toEqual([]);
  });

  it('a month partly without permission releases only its days permitted daily whole', () => {
    const grant = at('2026-02-10T10:37:00Z');
    const readings = halfHours(at('2026-02-01T00:00:00Z'), at('2026-03-01T00:00:00Z'));
    const releases = plan({
      readings,
      permissions: [
        { from: at('2026-01-01T00:00:00Z'), to: grant, granularity: 'none' },
        { from: grant, to: null, granularity: 'daily' },
      ],
      atRelease: 'daily',
    });
    expect(releases.map((r) => r.level)).toEqual(Array(18).fill('daily'));
    expect(iso(releases[0]!.start)).toBe('2026-02-11T00:00:00.000Z');
  });
});
