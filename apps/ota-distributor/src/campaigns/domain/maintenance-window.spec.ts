import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type MaintenanceWindow,
  directiveWindow,
  nextWindow,
  parseCron,
  validateWindow,
  wallClock,
  windowsFrom,
} from './maintenance-window';

const iso = (d: Date | undefined) => d?.toISOString();

function starts(window: MaintenanceWindow, from: string, count: number): string[] {
  const parsed = validateWindow(window);
  if (!parsed.ok) throw new Error(parsed.message);
  const out: string[] = [];
  for (const w of windowsFrom(window, parsed.schedule, Date.parse(from))) {
    out.push(`${iso(w.startsAt)}/${iso(w.endsAt)}`);
    if (out.length === count) break;
  }
  return out;
}

describe('maintenance windows in Europe/London across DST (spec §6.5)', () => {
  const london = (cron: string, durationMinutes = 60): MaintenanceWindow => ({
    cron,
    durationMinutes,
    timezone: 'Europe/London',
  });

  it('a time the spring-forward gap skips opens once, as far after the gap (29 March 2026)', () => {
    expect(starts(london('30 1 * * *'), '2026-03-27T12:00:00Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z/2026-03-28T02:30:00.000Z', // 01:30 GMT
      '2026-03-29T01:30:00.000Z/2026-03-29T02:30:00.000Z', // 01:30 does not exist: 02:30 BST
      '2026-03-30T00:30:00.000Z/2026-03-30T01:30:00.000Z', // 01:30 BST
    ]);
    // 01:30 (skipped) and 02:30 BST name the same instant that night: one window, not two.
    expect(starts(london('30 1,2 * * *'), '2026-03-29T00:00:00Z', 2)).toEqual([
      '2026-03-29T01:30:00.000Z/2026-03-29T02:30:00.000Z',
      '2026-03-30T00:30:00.000Z/2026-03-30T01:30:00.000Z',
    ]);
  });

  it('a time the autumn fold repeats opens once, at its first occurrence (25 October 2026)', () => {
    expect(starts(london('30 1 * * *'), '2026-10-24T12:00:00Z', 2)).toEqual([
      '2026-10-25T00:30:00.000Z/2026-10-25T01:30:00.000Z', // 01:30 BST, not again at 01:30 GMT
      '2026-10-26T01:30:00.000Z/2026-10-26T02:30:00.000Z',
    ]);
  });

  it('a night window keeps its elapsed length across the change and follows local time on either side', () => {
    const night = london('0 22 * * *', 480);
    expect(starts(night, '2026-03-27T12:00:00Z', 3)).toEqual([
      '2026-03-27T22:00:00.000Z/2026-03-28T06:00:00.000Z',
      '2026-03-28T22:00:00.000Z/2026-03-29T06:00:00.000Z', // ends 07:00 BST: eight hours elapsed
      '2026-03-29T21:00:00.000Z/2026-03-30T05:00:00.000Z',
    ]);
    expect(starts(night, '2026-10-24T12:00:00Z', 2)).toEqual([
      '2026-10-24T21:00:00.000Z/2026-10-25T05:00:00.000Z',
      '2026-10-25T22:00:00.000Z/2026-10-26T06:00:00.000Z',
    ]);
  });

  it('sends the open window, else the next, over several windows', () => {
    const windows = [london('0 2 * * *', 120), london('0 13 * * 6', 60)];
    expect(nextWindow(windows, new Date('2026-07-01T01:30:00Z'))).toEqual({
      startsAt: new Date('2026-07-01T01:00:00Z'),
      endsAt: new Date('2026-07-01T03:00:00Z'),
    });
    expect(nextWindow(windows, new Date('2026-07-04T03:00:00Z'))).toEqual({
      startsAt: new Date('2026-07-04T12:00:00Z'), // Saturday 13:00 BST
      endsAt: new Date('2026-07-04T13:00:00Z'),
    });
    expect(nextWindow([london('0 0 30 2 *')], new Date('2026-07-01T00:00:00Z'))).toBeNull();
    expect(nextWindow([london('0 0 29 2 *')], new Date('2026-07-01T00:00:00Z'))?.startsAt).toEqual(
      new Date('2028-02-29T00:00:00Z'),
    );
  });
});

describe('cron subset', () => {
  it('parses lists, ranges, steps, Sunday as 0 or 7, and the day-of-month OR day-of-week rule', () => {
    const parsed = parseCron('*/15 9-17/4 1,15 * 7');
    expect(parsed).toMatchObject({ ok: true, schedule: { minutes: [0, 15, 30, 45], hours: [9, 13, 17] } });
    // 1st or 15th of the month, or a Sunday: Sunday 5 July 2026 matches.
    const utc: MaintenanceWindow = { cron: '0 12 1,15 * 7', durationMinutes: 30, timezone: 'UTC' };
    expect(starts(utc, '2026-07-02T00:00:00Z', 2)).toEqual([
      '2026-07-05T12:00:00.000Z/2026-07-05T12:30:00.000Z',
      '2026-07-12T12:00:00.000Z/2026-07-12T12:30:00.000Z',
    ]);
  });

  it('refuses what it does not define with a stable code naming the field', () => {
    for (const bad of [
      '0 2 * *',
      '60 2 * * *',
      '0 24 * * *',
      '0 2 0 * *',
      '0 2 * 13 *',
      '0 2 * * MON',
      '0 2 L * *',
      '*/0 * * * *',
      '5-1 * * * *',
      'x'.repeat(200),
    ])
      expect(parseCron(bad), bad).toMatchObject({ ok: false, code: 'INVALID_CRON', field: 'cron' });
    expect(validateWindow({ cron: '0 2 * * *', durationMinutes: 1431, timezone: 'UTC' })).toMatchObject({
      code: 'INVALID_DURATION',
    });
    expect(
      validateWindow({ cron: '0 2 * * *', durationMinutes: 60, timezone: 'Europe/Atlantis' }),
    ).toMatchObject({ code: 'INVALID_TIMEZONE' });
  });
});

const arbField = (min: number, max: number) =>
  fc.oneof(
    fc.constant('*'),
    fc.integer({ min, max }).map(String),
    fc.integer({ min, max }).chain((a) => fc.integer({ min: a, max }).map((b) => `${a}-${b}`)),
    fc.integer({ min: 1, max: 12 }).map((s) => `*/${s}`),
    fc.uniqueArray(fc.integer({ min, max }), { minLength: 1, maxLength: 4 }).map((v) => v.join(',')),
  );
const arbCron = fc
  .tuple(arbField(0, 59), arbField(0, 23), arbField(1, 31), arbField(1, 12), arbField(0, 7))
  .map((f) => f.join(' '));

describe('maintenance window properties', () => {
  it('property: in a zone without DST the windows are exactly the minutes the cron names (brute force)', () => {
    fc.assert(
      fc.property(
        arbCron,
        fc.constantFrom(['UTC', 0] as const, ['Asia/Kolkata', 330] as const),
        fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') }),
        (cron, [timezone, offsetMinutes], fromRaw) => {
          const from = Math.floor(fromRaw / 60_000) * 60_000;
          const window = { cron, durationMinutes: 1, timezone };
          const parsed = validateWindow(window);
          if (!parsed.ok) throw new Error(parsed.message);
          const { schedule } = parsed;
          const horizon = from + 86_400_000;
          const expected: number[] = [];
          for (let t = from; t < horizon; t += 60_000) {
            // Fixed offsets (neither zone has had DST since 1945): the brute force needs no time-zone database.
            const wall = new Date(t + offsetMinutes * 60_000);
            const dom = schedule.daysOfMonth.has(wall.getUTCDate());
            const dow = schedule.daysOfWeek.has(wall.getUTCDay());
            const day =
              schedule.dayOfMonthRestricted && schedule.dayOfWeekRestricted ? dom || dow : dom && dow;
            if (
              day &&
              schedule.months.has(wall.getUTCMonth() + 1) &&
              schedule.hours.includes(wall.getUTCHours()) &&
              schedule.minutes.includes(wall.getUTCMinutes())
            )
              expected.push(t);
          }
          const actual: number[] = [];
          for (const w of windowsFrom(window, schedule, from)) {
            if (w.startsAt.getTime() >= horizon) break;
            if (w.startsAt.getTime() >= from) actual.push(w.startsAt.getTime());
          }
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 30 },
    );
  }, 60_000);

  it('property: in DST zones the window sent is open now or the next, strictly ordered, of the right length', () => {
    fc.assert(
      fc.property(
        arbCron,
        fc.integer({ min: 1, max: 1430 }),
        fc.constantFrom('Europe/London', 'America/New_York', 'Australia/Lord_Howe', 'America/Santiago'),
        fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') }),
        (cron, durationMinutes, timezone, now) => {
          const window = { cron, durationMinutes, timezone };
          const parsed = validateWindow(window);
          if (!parsed.ok) throw new Error(parsed.message);
          const sent = nextWindow([window], new Date(now));
          if (!sent) return;
          expect(sent.endsAt.getTime() - sent.startsAt.getTime()).toBe(durationMinutes * 60_000);
          expect(sent.endsAt.getTime()).toBeGreaterThan(now);
          let previous = -Infinity;
          let n = 0;
          for (const w of windowsFrom(window, parsed.schedule, now)) {
            expect(w.startsAt.getTime()).toBeGreaterThan(previous);
            previous = w.startsAt.getTime();
            if (++n > 50) break;
          }
          // The window opens on a wall-clock minute the cron names (whole-hour zones keep the minute).
          if (timezone !== 'Australia/Lord_Howe')
            expect(parsed.schedule.minutes).toContain(
              new Date(wallClock(timezone, sent.startsAt.getTime())).getUTCMinutes(),
            );
        },
      ),
      { numRuns: 40 },
    );
  }, 60_000);

  it('property: across DST changes in Europe/London a daily window opens at its local time and lasts its duration', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        fc.integer({ min: 1, max: 1430 }),
        // Any instant of ten years, or one within two days of a change (last Sunday of March or October).
        fc.oneof(
          fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2036-01-01T00:00:00Z') }),
          fc
            .tuple(
              fc.integer({ min: 2026, max: 2035 }),
              fc.constantFrom(2, 9),
              fc.integer({ min: -2 * 86_400_000, max: 2 * 86_400_000 }),
            )
            .map(([year, month, offset]) => {
              const lastDay = Date.UTC(year, month, 31);
              return lastDay - new Date(lastDay).getUTCDay() * 86_400_000 + offset;
            }),
        ),
        (hour, minute, durationMinutes, now) => {
          const windows = [{ cron: `${minute} ${hour} * * *`, durationMinutes, timezone: 'Europe/London' }];
          const sent = directiveWindow(windows, new Date(now))!;
          const start = sent.startsAt.getTime();
          expect(sent.endsAt.getTime() - start).toBe(durationMinutes * 60_000);
          // Open now, or the next to open: then it opens within a day.
          expect(sent.endsAt.getTime()).toBeGreaterThan(now);
          if (start > now) expect(start - now).toBeLessThanOrEqual(25 * 3_600_000);
          const local = new Date(wallClock('Europe/London', start));
          expect(local.getUTCMinutes()).toBe(minute);
          if (local.getUTCHours() !== hour) {
            // Only 01:xx on the spring-forward Sunday (last of March) does not exist: it opens at 02:xx BST.
            expect([hour, local.getUTCHours(), local.getUTCMonth(), local.getUTCDay()]).toEqual([1, 2, 2, 0]);
            expect(local.getUTCDate()).toBeGreaterThanOrEqual(25);
          }
          // The offset London keeps at the start is GMT or BST: the start is local time, not UTC time.
          const offset = wallClock('Europe/London', start) - start;
          expect([0, 3_600_000]).toContain(offset);
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000);

  it('a directive carries no window without maintenance windows; outside one it names the next (download now)', () => {
    expect(directiveWindow([], new Date('2026-07-01T12:00:00Z'))).toBeNull();
    const night = [{ cron: '0 2 * * *', durationMinutes: 120, timezone: 'Europe/London' }];
    const noon = directiveWindow(night, new Date('2026-07-01T12:00:00Z'))!;
    expect([noon.startsAt.toISOString(), noon.endsAt.toISOString()]).toEqual([
      '2026-07-02T01:00:00.000Z',
      '2026-07-02T03:00:00.000Z',
    ]);
    const inside = directiveWindow(night, new Date('2026-12-01T03:00:00Z'))!;
    expect([inside.startsAt.toISOString(), inside.endsAt.toISOString()]).toEqual([
      '2026-12-01T02:00:00.000Z',
      '2026-12-01T04:00:00.000Z',
    ]);
  });
});
