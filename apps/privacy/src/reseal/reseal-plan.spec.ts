import { describe, expect, it } from 'vitest';
import type { MeterEvent, MeterReading } from '@meterkeep/contracts';
import { type KeyPeriod, planReseal, rightKeyAt } from './reseal-plan';

const T = Date.UTC(2026, 5, 15, 12); // the move-out instant
const HALF_HOUR = 1_800_000;
const reading = (at: number): MeterReading => ({
  obis: '1-0:1.8.0*255',
  intervalStart: new Date(at).toISOString(),
  intervalMinutes: 30,
  value: 1,
  scaler: 0,
  unit: 'Wh',
});
const event = (at: number): MeterEvent => ({
  code: 'TAMPER',
  occurredAt: new Date(at).toISOString(),
  severity: 'alarm',
});
const a: KeyPeriod = { keyId: 'dk-a', from: T - 30 * 86_400_000, to: T, live: true };
const b: KeyPeriod = { keyId: 'dk-b', from: T + 2 * HALF_HOUR, to: null, live: true };

describe('re-seal plan (back-dated change of tenancy)', () => {
  it('keeps what is before the move-out under the old key; moves the rest to the next occupant or the meter key', () => {
    const payload = {
      readings: [-2, -1, 0, 1, 2, 3].map((i) => reading(T + i * HALF_HOUR)),
      events: [event(T - 1), event(T), event(T + 2 * HALF_HOUR)],
    };
    const plan = planReseal(payload, 'dk-a', T, [a, b], 'dk-meter');
    expect(plan.erased).toBe(0);
    expect(plan.groups.map((g) => g.keyId)).toEqual(['dk-meter', 'dk-b']);
    const [vacancy, next] = plan.groups;
    expect(vacancy!.readings.map((r) => Date.parse(r.intervalStart))).toEqual([T, T + HALF_HOUR]);
    expect(vacancy!.events.map((e) => e.occurredAt)).toEqual([new Date(T).toISOString()]);
    expect(next!.readings.map((r) => Date.parse(r.intervalStart))).toEqual([
      T + 2 * HALF_HOUR,
      T + 3 * HALF_HOUR,
    ]);
    expect(next!.events).toHaveLength(1);
  });

  it('moves nothing already under its right key, nor anything before `from`', () => {
    const payload = { readings: [reading(T + 2 * HALF_HOUR)], events: [] };
    expect(planReseal(payload, 'dk-b', T, [a, b], 'dk-meter').groups).toEqual([]);
    expect(
      planReseal({ readings: [reading(T - HALF_HOUR)], events: [] }, 'dk-meter', T, [a, b], 'dk-meter')
        .groups,
    ).toEqual([]);
  });

  it('re-seals meter-key readings into an occupancy opened back-dated over them', () => {
    const payload = { readings: [reading(T + 2 * HALF_HOUR), reading(T + HALF_HOUR)], events: [] };
    const plan = planReseal(payload, 'dk-meter', b.from, [a, b], 'dk-meter');
    expect(plan.groups).toEqual([{ keyId: 'dk-b', readings: [payload.readings[0]], events: [] }]);
  });

  it('re-seals nothing into an erased occupancy: counted, not moved', () => {
    const erasedB = { ...b, live: false };
    const plan = planReseal(
      { readings: [reading(T + 3 * HALF_HOUR)], events: [] },
      'dk-a',
      T,
      [a, erasedB],
      'dk-meter',
    );
    expect(plan).toEqual({ groups: [], erased: 1 });
    expect(rightKeyAt([a, erasedB], 'dk-meter', T + 3 * HALF_HOUR)).toBeUndefined();
  });

  it('switches exactly at the instant: the last millisecond before is the old key, the instant the next', () => {
    const next: KeyPeriod = { keyId: 'dk-n', from: T, to: null, live: true };
    expect(rightKeyAt([a, next], 'dk-meter', T - 1)).toBe('dk-a');
    expect(rightKeyAt([a, next], 'dk-meter', T)).toBe('dk-n');
  });
});
