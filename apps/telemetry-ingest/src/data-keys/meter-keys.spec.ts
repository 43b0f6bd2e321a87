import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type MeterKeys, keyFor } from './meter-keys';

const t = (iso: string) => Date.parse(iso);
const keys: MeterKeys = {
  meterKey: { keyId: 'mk-1', key: randomBytes(32) },
  occupancies: [
    {
      occupancyId: 'o1',
      keyId: 'dk-1',
      from: t('2026-01-01T00:00:00Z'),
      to: t('2026-06-01T00:00:00Z'),
      key: randomBytes(32),
    },
    {
      occupancyId: 'o2',
      keyId: 'dk-2',
      from: t('2026-07-01T00:00:00Z'),
      to: t('2026-08-01T00:00:00Z'),
      key: undefined,
    },
    {
      occupancyId: 'o3',
      keyId: 'dk-3',
      from: t('2026-09-01T00:00:00Z'),
      to: undefined,
      key: randomBytes(32),
    },
  ],
};

describe('keyFor', () => {
  it('picks the occupancy covering the time, [from, to)', () => {
    expect(keyFor(keys, t('2026-01-01T00:00:00Z'))).toMatchObject({ ok: true, key: { keyId: 'dk-1' } });
    expect(keyFor(keys, t('2026-05-31T23:30:00Z'))).toMatchObject({ ok: true, key: { keyId: 'dk-1' } });
    expect(keyFor(keys, t('2026-11-26T08:00:00Z'))).toMatchObject({ ok: true, key: { keyId: 'dk-3' } });
  });

  it('falls back to the per-meter key between occupancies', () => {
    expect(keyFor(keys, t('2026-06-01T00:00:00Z'))).toMatchObject({ ok: true, key: { keyId: 'mk-1' } });
    expect(keyFor(keys, t('2025-12-31T00:00:00Z'))).toMatchObject({ ok: true, key: { keyId: 'mk-1' } });
  });

  it('refuses a time inside an erased occupancy', () => {
    expect(keyFor(keys, t('2026-07-15T00:00:00Z'))).toEqual({ ok: false, keyId: 'dk-2' });
  });
});
