import type { DataKey } from '@meterkeep/reading-seal';

/** One occupancy of a meter as the vault lists it; no key once destroyed (crypto-shredded). */
export interface OccupancyKey {
  occupancyId: string;
  keyId: string;
  from: number;
  /** Exclusive; undefined while the occupancy is open. */
  to: number | undefined;
  key: Buffer | undefined;
}

/** Every key a meter's readings may be sealed under: one per occupancy, and the per-meter key. */
export interface MeterKeys {
  occupancies: OccupancyKey[];
  meterKey: DataKey;
}

export type KeyChoice = { ok: true; key: DataKey } | { ok: false; keyId: string };

/**
 * The key for a reading taken at `at`: its occupancy's, when one covers it, else the meter's own. An
 * occupancy whose key was destroyed was erased: nothing more may be written under it.
 */
export function keyFor(keys: MeterKeys, at: number): KeyChoice {
  const occupancy = keys.occupancies.find((o) => o.from <= at && (o.to === undefined || at < o.to));
  if (!occupancy) return { ok: true, key: keys.meterKey };
  if (!occupancy.key) return { ok: false, keyId: occupancy.keyId };
  return { ok: true, key: { keyId: occupancy.keyId, key: occupancy.key } };
}
