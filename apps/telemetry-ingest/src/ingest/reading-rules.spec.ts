import { describe, expect, it } from 'vitest';
import { checkBatchItems } from './reading-rules';

const now = new Date('2026-11-26T12:00:00Z');
const rules = { now, maxClockSkewMs: 5 * 60_000, maxAgeMs: 7 * 86_400_000 };
const reading = (over: Record<string, unknown> = {}) => ({
  obis: '1-0:1.29.0*255',
  intervalStart: '2026-11-26T08:30:00Z',
  intervalMinutes: 30,
  value: 412,
  scaler: 0,
  unit: 'Wh',
  ...over,
});

describe('checkBatchItems', () => {
  it('keeps good readings and events with their identity and time', () => {
    const checked = checkBatchItems(
      [reading(), reading({ intervalStart: '2026-11-26T09:00:00Z' })],
      [{ code: 'TAMPER', occurredAt: '2026-11-26T09:10:00Z', severity: 'alarm' }],
      rules,
    );
    expect(checked.rejected).toEqual([]);
    expect(checked.readings.map((r) => r.identity)).toEqual([
      `1-0:1.29.0*255|${Date.parse('2026-11-26T08:30:00Z')}|30`,
      `1-0:1.29.0*255|${Date.parse('2026-11-26T09:00:00Z')}|30`,
    ]);
    expect(checked.events[0]).toMatchObject({ index: 0, at: Date.parse('2026-11-26T09:10:00Z') });
  });

  it.each([
    ['OBIS_INVALID', reading({ obis: '1-0:1.8' })],
    ['OBIS_INVALID', reading({ obis: '1-0:1.8.0*256' })],
    ['TIME_INVALID', reading({ intervalStart: '2026-11-26T08:30:00+01:00' })],
    ['INTERVAL_INVALID', reading({ intervalMinutes: 7 })],
    ['VALUE_INVALID', reading({ value: 1.5 })],
    ['UNIT_INVALID', reading({ unit: 'furlongs' })],
    ['SCALER_INVALID', reading({ scaler: 12 })],
    ['READING_INVALID', reading({ extra: 1 })],
    ['READING_INVALID', 'not an object'],
    ['INTERVAL_MISALIGNED', reading({ intervalStart: '2026-11-26T08:31:00Z' })],
    ['TIME_IN_FUTURE', reading({ intervalStart: '2026-11-26T12:00:00Z' })],
    ['TIME_TOO_OLD', reading({ intervalStart: '2026-11-01T08:30:00Z' })],
  ])('refuses %s by index, keeping the rest', (code, bad) => {
    const checked = checkBatchItems([reading(), bad], [], rules);
    expect(checked.readings).toHaveLength(1);
    expect(checked.rejected).toEqual([expect.objectContaining({ section: 'readings', index: 1, code })]);
    expect(checked.rejected[0]?.reason.length).toBeGreaterThan(5);
  });

  it('accepts a register snapshot at any minute, and an interval ending within the clock skew', () => {
    const checked = checkBatchItems(
      [
        reading({ obis: '1-0:1.8.0*255', intervalMinutes: 0, intervalStart: '2026-11-26T08:31:17Z' }),
        reading({ intervalStart: '2026-11-26T11:30:00Z' }),
      ],
      [],
      rules,
    );
    expect(checked.rejected).toEqual([]);
  });

  it('refuses a repeat inside the batch, and bad events', () => {
    const checked = checkBatchItems(
      [reading(), reading()],
      [
        { code: 'POWER_OUTAGE', occurredAt: '2026-11-26T09:00:00Z', severity: 'warning' },
        { code: 'POWER_OUTAGE', occurredAt: '2026-11-26T09:00:00Z', severity: 'warning' },
        { code: 'EARTHQUAKE', occurredAt: '2026-11-26T09:00:00Z', severity: 'alarm' },
      ],
      rules,
    );
    expect(checked.rejected.map((r) => [r.section, r.index, r.code])).toEqual([
      ['readings', 1, 'DUPLICATE_IN_BATCH'],
      ['events', 1, 'DUPLICATE_IN_BATCH'],
      ['events', 2, 'EVENT_CODE_INVALID'],
    ]);
  });
});
