import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TELEMETRY_RELEASED, validateEvent } from '@meterkeep/contracts';
import { type ReleaseLabels, openRelease, sealRelease } from './release-seal';

const labels: ReleaseLabels = {
  eventId: '7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a',
  tenantId: 't1',
  occupancyId: 'occ-1',
  meterId: 'MTR-1',
  recipient: 'supplier',
  purpose: 'billing',
  granularity: 'monthly',
  windowStart: '2026-11-01T00:00:00.000Z',
  windowEnd: '2026-12-01T00:00:00.000Z',
};
const totals = { totals: [{ obis: '1-0:1.8.0*255', unit: 'Wh', quantity: 1440, readingCount: 1440 }] };
const key = { keyId: 'rk-1', key: randomBytes(32) };

describe('release seal', () => {
  it('round-trips the totals; the record is a valid telemetry.released.v1 event without them', () => {
    const sealed = sealRelease(totals, key, labels);
    const event = validateEvent(TELEMETRY_RELEASED, {
      ...labels,
      occurredAt: new Date().toISOString(),
      ...sealed,
    });
    expect(JSON.stringify(event)).not.toContain('1440');
    expect(openRelease(event, key.key)).toEqual(totals);
  });

  it('refuses another key, and a label moved to another window, granularity or recipient', () => {
    const sealed = sealRelease(totals, key, labels);
    expect(() => openRelease({ ...labels, ...sealed }, randomBytes(32))).toThrow();
    for (const moved of [
      { granularity: 'daily' as const },
      { windowStart: '2026-11-02T00:00:00.000Z' },
      { recipient: 'third-party:coach' },
      { purpose: 'marketing' },
    ])
      expect(() => openRelease({ ...labels, ...moved, ...sealed }, key.key)).toThrow();
  });
});
