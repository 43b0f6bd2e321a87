import { describe, expect, it } from 'vitest';
import { meterEvent, meterReading, telemetryBatch, TELEMETRY_MAX_EVENTS } from '@meterkeep/contracts';
import {
  INTERVAL_OBIS,
  MeterProfile,
  REGISTER_OBIS,
  addDays,
  meterDays,
  readingsIn,
  telemetryBatches,
  type MeterDay,
} from './interval-data';

const intervals = (day: MeterDay) => day.readings.filter((r) => r.obis === INTERVAL_OBIS);
const register = (day: MeterDay) => day.readings.find((r) => r.obis === REGISTER_OBIS)!;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('a simulated meter day', () => {
  const profile = new MeterProfile('MTR-000001');

  it('holds a register snapshot at midnight and 48 half-hour intervals on :00 and :30', () => {
    const day = profile.day('2026-03-29');
    expect(register(day)).toMatchObject({
      intervalStart: '2026-03-29T00:00:00Z',
      intervalMinutes: 0,
      unit: 'Wh',
    });
    const starts = intervals(day).map((r) => r.intervalStart);
    expect(starts).toHaveLength(48);
    expect(starts[0]).toBe('2026-03-29T00:00:00Z');
    expect(starts[47]).toBe('2026-03-29T23:30:00Z');
    expect(new Set(starts).size).toBe(48);
    expect(starts.every((s) => /T\d{2}:(00|30):00Z$/.test(s))).toBe(true);
    expect(intervals(day).every((r) => r.intervalMinutes === 30 && r.scaler === 0 && r.unit === 'Wh')).toBe(
      true,
    );
  });

  it('keeps the register consistent with the intervals, day after day', () => {
    const days = [...meterDays(profile, '2026-01-25', 40)];
    for (const [n, day] of days.entries()) {
      const next =
        n + 1 < days.length ? register(days[n + 1]!).value : profile.registerAt(addDays(day.day, 1));
      expect(next - register(day).value).toBe(sum(intervals(day).map((r) => r.value)));
    }
    // A day made on its own agrees with the same day made in a run.
    expect(profile.day('2026-02-10')).toEqual(days[16]);
  });

  it('looks like a household: a few kWh a day, night base load below the evening peak', () => {
    const days = [...meterDays(profile, '2026-01-01', 60)];
    const totals = days.map((d) => sum(intervals(d).map((r) => r.value)));
    expect(Math.min(...totals)).toBeGreaterThan(500);
    expect(Math.max(...totals)).toBeLessThan(30_000);
    const at = (index: number) => sum(days.map((d) => intervals(d)[index]!.value));
    expect(at(6)).toBeLessThan(at(38)); // 03:00 versus 19:00
    expect(days.flatMap(intervals).every((r) => Number.isInteger(r.value) && r.value >= 0)).toBe(true);
  });

  it('is the same for the same endpoint name and different for another', () => {
    expect(new MeterProfile('MTR-000001').day('2026-05-01')).toEqual(profile.day('2026-05-01'));
    expect(new MeterProfile('MTR-000002').day('2026-05-01').readings).not.toEqual(
      profile.day('2026-05-01').readings,
    );
  });

  it('holds only what has been measured by a given instant', () => {
    const until = new Date('2026-03-02T10:45:00Z');
    const days = [...meterDays(profile, '2026-03-01', 5, { until })];
    expect(days.map((d) => d.readings.length)).toEqual([49, 1 + 21]);
    expect(days[1]!.readings.at(-1)!.intervalStart).toBe('2026-03-02T10:00:00Z');
    expect(readingsIn('2026-03-01', 5, { until })).toBe(71);
    expect(readingsIn('2026-03-01', 5)).toBe(245);
  });

  it('refuses a day that is not one, or from before the meters were installed', () => {
    expect(() => profile.day('2026-02-30')).toThrow(RangeError);
    expect(() => profile.day('2019-12-31')).toThrow(/before 2020-01-01/);
  });

  it('produces only readings and events the ingest accepts, and now and then an outage pair', () => {
    let outages = 0;
    let meterDayCount = 0;
    const invalid: unknown[] = [];
    for (let m = 0; m < 40; m++) {
      for (const day of meterDays(new MeterProfile(`MTR-${m}`), '2025-06-01', 60)) {
        meterDayCount += 1;
        for (const reading of day.readings)
          if (!meterReading.safeParse(reading).success) invalid.push(reading);
        for (const { event } of day.events) if (!meterEvent.safeParse(event).success) invalid.push(event);
        const codes = day.events.map((e) => e.event.code);
        if (!codes.includes('POWER_OUTAGE')) {
          expect(day.readings.some((r) => r.quality)).toBe(false);
          continue;
        }
        outages += 1;
        expect(codes.indexOf('POWER_RESTORED')).toBeGreaterThan(codes.indexOf('POWER_OUTAGE'));
        const outage = day.events.find((e) => e.event.code === 'POWER_OUTAGE')!;
        expect(day.readings[outage.readingIndex]?.quality).toEqual(['power-failure']);
      }
    }
    expect(invalid).toEqual([]);
    // About 2 % of 2400 meter-days.
    expect(outages / meterDayCount).toBeGreaterThan(0.005);
    expect(outages / meterDayCount).toBeLessThan(0.05);
  });
});

describe('batches of meter days', () => {
  const profile = new MeterProfile('MTR-000007');

  it('holds the chosen number of readings, the last one the rest, in order and complete', () => {
    const days = [...meterDays(profile, '2026-01-01', 31)];
    const batches = [...telemetryBatches(days, 100)];
    expect(batches.map((b) => b.readings.length)).toEqual([...Array<number>(15).fill(100), 19]);
    expect(batches.flatMap((b) => b.readings)).toEqual(days.flatMap((d) => d.readings));
    expect(batches.flatMap((b) => b.events)).toEqual(days.flatMap((d) => d.events.map((e) => e.event)));
    for (const batch of batches) {
      expect(telemetryBatch.safeParse(batch).error).toBeUndefined();
      expect(batch.events.length).toBeLessThanOrEqual(TELEMETRY_MAX_EVENTS);
    }
    expect([...telemetryBatches(days, 1000)].map((b) => b.readings.length)).toEqual([1000, 519]);
  });

  it('names each batch by its content: the same days give the same ids, other content other ids', () => {
    const ids = (from: string, count: number, size: number) =>
      [...telemetryBatches(meterDays(profile, from, count), size)].map((b) => b.batchId);
    expect(ids('2026-01-01', 10, 100)).toEqual(ids('2026-01-01', 10, 100));
    expect(ids('2026-01-01', 10, 100)[0]).toBe('MTR-000007:2026-01-01:0:100');
    expect(ids('2026-01-01', 10, 100)[1]).toBe('MTR-000007:2026-01-03:2:100');
    // More days change the last batch's content, and so its id.
    expect(ids('2026-01-01', 10, 100).at(-1)).not.toBe(ids('2026-01-01', 11, 100)[4]);
    const all = ids('2026-01-01', 200, 100);
    expect(new Set(all).size).toBe(all.length);
    expect(all.every((id) => /^[A-Za-z0-9._:-]{1,128}$/.test(id))).toBe(true);
  });

  it('keeps an id within 128 characters for a long endpoint name', () => {
    const [batch] = telemetryBatches(meterDays(new MeterProfile('M'.repeat(128)), '2026-01-01', 1), 100);
    expect(telemetryBatch.safeParse(batch).error).toBeUndefined();
  });

  it('refuses a batch size outside 1..1000', () => {
    expect(() => [...telemetryBatches([], 0)]).toThrow(RangeError);
    expect(() => [...telemetryBatches([], 1001)]).toThrow(RangeError);
  });
});
