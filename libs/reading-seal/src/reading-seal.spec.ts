import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TELEMETRY_READINGS, validateEvent } from '@meterkeep/contracts';
import { openReadings, readingEventId, readingTimeBounds, sealReadings } from './reading-seal';

const payload = {
  batchId: 'b-1',
  readings: [
    {
      obis: '1-0:1.8.0*255',
      intervalStart: '2026-11-26T08:00:00Z',
      intervalMinutes: 30,
      value: 1234,
      scaler: 0,
      unit: 'Wh' as const,
    },
  ],
  events: [{ code: 'TAMPER' as const, occurredAt: '2026-11-26T08:10:00Z', severity: 'alarm' as const }],
};
const dataKey = { keyId: 'dk-1', key: randomBytes(32) };
const context = { eventId: readingEventId('t1', 'MTR-1', 'b-1', 'dk-1'), tenantId: 't1', meterId: 'MTR-1' };

describe('reading seal', () => {
  it('round-trips a batch, and the envelope is a valid telemetry.readings.v1 event without plaintext', () => {
    const envelope = sealReadings(payload, dataKey, context);
    const event = validateEvent(TELEMETRY_READINGS, {
      ...context,
      occurredAt: new Date().toISOString(),
      ...envelope,
    });
    expect(event.readingCount).toBe(2);
    expect(JSON.stringify(event)).not.toContain('1-0:1.8.0');
    expect(JSON.stringify(event)).not.toContain('TAMPER');
    expect(openReadings(event, dataKey.key)).toEqual(payload);
  });

  it('refuses the wrong key, and a ciphertext moved to another meter or event', () => {
    const event = { ...context, ...sealReadings(payload, dataKey, context) };
    expect(() => openReadings(event, randomBytes(32))).toThrow();
    expect(() => openReadings({ ...event, meterId: 'MTR-2' }, dataKey.key)).toThrow();
    expect(() =>
      openReadings({ ...event, eventId: readingEventId('t1', 'MTR-1', 'b-2', 'dk-1') }, dataKey.key),
    ).toThrow();
  });

  it('derives the same event id for a replayed batch, another for another batch or key', () => {
    const id = readingEventId('t1', 'MTR-1', 'b-1', 'dk-1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(readingEventId('t1', 'MTR-1', 'b-1', 'dk-1')).toBe(id);
    expect(readingEventId('t1', 'MTR-1', 'b-1', 'dk-2')).not.toBe(id);
    expect(readingEventId('t1', 'MTR-1', 'b-2', 'dk-1')).not.toBe(id);
  });

  it('states the reading-time bounds of what it seals (readings and events), so coverage needs no key', () => {
    const envelope = sealReadings(
      {
        ...payload,
        readings: [
          { ...payload.readings[0]!, intervalStart: '2026-11-26T09:00:00Z' },
          payload.readings[0]!,
          { ...payload.readings[0]!, intervalStart: '2026-11-26T08:30:00Z' },
        ],
        events: [{ ...payload.events[0]!, occurredAt: '2026-11-26T09:10:00.250Z' }],
      },
      dataKey,
      context,
    );
    expect(envelope).toMatchObject({
      intervalFrom: '2026-11-26T08:00:00.000Z',
      intervalTo: '2026-11-26T09:10:00.250Z',
    });
    const event = validateEvent(TELEMETRY_READINGS, {
      ...context,
      occurredAt: new Date().toISOString(),
      ...envelope,
    });
    expect(event.intervalFrom).toBe('2026-11-26T08:00:00.000Z');
    expect(readingTimeBounds({ readings: [], events: [] })).toEqual({});
  });
});
