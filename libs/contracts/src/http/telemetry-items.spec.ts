import { describe, expect, it } from 'vitest';
import { meterEvent, meterReading } from './telemetry-batch';
import { checkMeterEvent, checkMeterReading, isUtcInstant } from './telemetry-items';

/** A deterministic generator (mulberry32), so a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  10,
  -10,
  2 ** 53,
  -(2 ** 53),
  1e21,
  '',
  '1',
  'x'.repeat(300),
  [],
  ['estimated'],
  ['estimated', 'estimated', 'estimated', 'estimated', 'estimated', 'estimated', 'estimated'],
  ['nope'],
  [1],
  {},
  { a: 1 },
  'kWh',
  'Wh',
  'TAMPER',
  'alarm',
  '1-0:1.8.0*255',
  '1-0:1.8.0*256',
  '255-255:255.255.255*255',
  '1-0:1.8.0',
  '01-0:1.8.0*255',
  '1-0:1.8.0*255 ',
  '2026-11-26T08:30:00Z',
  '2026-11-26T08:30:00.123Z',
  '2026-11-26T08:30:00.Z',
  '2026-11-26T08:30Z',
  '2026-11-26T24:00:00Z',
  '2026-11-26T23:60:00Z',
  '2026-11-26T23:59:60Z',
  '2026-11-31T00:00:00Z',
  '2026-02-29T00:00:00Z',
  '2024-02-29T00:00:00Z',
  '2100-02-29T00:00:00Z',
  '2000-02-29T00:00:00Z',
  '2026-00-10T00:00:00Z',
  '2026-13-10T00:00:00Z',
  '2026-11-00T00:00:00Z',
  '2026-11-26T08:30:00+00:00',
  '2026-11-26t08:30:00z',
  '2026-11-26 08:30:00Z',
  30,
  1440,
  7,
  9,
  -9,
  '9',
];

function pick<T>(next: () => number, xs: readonly T[]): T {
  return xs[Math.floor(next() * xs.length)]!;
}

function mutate(next: () => number, base: Record<string, unknown>, keys: string[]): unknown {
  const item: Record<string, unknown> = { ...base };
  const changes = 1 + Math.floor(next() * 3);
  for (let i = 0; i < changes; i++) {
    const roll = next();
    if (roll < 0.6) item[pick(next, keys)] = pick(next, ODD_VALUES);
    else if (roll < 0.8) delete item[pick(next, keys)];
    else item[pick(next, ['extra', 'Obis', 'value2'])] = 1;
  }
  return next() < 0.02 ? pick(next, [null, 'x', 3, [item]]) : item;
}

/** zod's verdict in the same terms: valid, or the first issue's top-level field (if any). */
function zodVerdict(schema: typeof meterReading | typeof meterEvent, raw: unknown) {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true };
  const field = parsed.error.issues[0]?.path[0];
  return { ok: false, field: typeof field === 'string' ? field : undefined };
}

const verdict = (check: { ok: boolean; field?: string }) =>
  check.ok ? { ok: true } : { ok: false, field: check.field };

describe('hand-written item checks agree with the published schemas', () => {
  const reading = {
    obis: '1-0:1.8.0*255',
    intervalStart: '2026-11-26T08:30:00Z',
    intervalMinutes: 30,
    value: 123_456,
    scaler: 0,
    unit: 'Wh',
    quality: ['estimated'],
  };
  const event = { code: 'TAMPER', occurredAt: '2026-11-26T08:31:12.5Z', severity: 'alarm', detail: 'x' };

  it('accepts valid items and returns them as they are', () => {
    const checked = checkMeterReading(reading);
    expect(checked).toEqual({ ok: true, value: reading });
    expect(checked.ok && checked.value).toBe(reading);
    expect(checkMeterEvent(event)).toEqual({ ok: true, value: event });
    expect(checkMeterReading({ ...reading, quality: undefined }).ok).toBe(true);
  });

  it('gives the same verdict and offending field as zod on 20,000 mutated readings and events', () => {
    const next = random(20261126);
    let refused = 0;
    for (let i = 0; i < 10_000; i++) {
      const r = mutate(next, reading, Object.keys(reading));
      expect(verdict(checkMeterReading(r)), JSON.stringify(r)).toEqual(zodVerdict(meterReading, r));
      const e = mutate(next, event, Object.keys(event));
      expect(verdict(checkMeterEvent(e)), JSON.stringify(e)).toEqual(zodVerdict(meterEvent, e));
      refused += checkMeterReading(r).ok ? 0 : 1;
    }
    // The mutations must exercise refusals, not only valid items.
    expect(refused).toBeGreaterThan(5_000);
  });

  it('knows leap years and the length of each month', () => {
    expect(isUtcInstant('2024-02-29T00:00:00Z')).toBe(true);
    expect(isUtcInstant('2000-02-29T00:00:00Z')).toBe(true);
    expect(isUtcInstant('2100-02-29T00:00:00Z')).toBe(false);
    expect(isUtcInstant('2026-04-31T00:00:00Z')).toBe(false);
    expect(isUtcInstant('2026-12-31T23:59:59.999999Z')).toBe(true);
  });
});
