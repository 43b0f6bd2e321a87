import type { MeterEvent, MeterReading, SealedReadings } from '@meterkeep/contracts';

/** An occupancy's period and key as the vault holds them; `live` false once the key was destroyed. */
export interface KeyPeriod {
  keyId: string;
  from: number;
  /** Exclusive; null while the occupancy is open. */
  to: number | null;
  live: boolean;
}

/** Items of one sealed record that belong under another key now, grouped per that key. */
export interface ResealGroup {
  keyId: string;
  readings: MeterReading[];
  events: MeterEvent[];
}

export interface ResealPlan {
  groups: ResealGroup[];
  /** Items whose right occupancy was erased (its key destroyed): nothing to re-seal them under. */
  erased: number;
}

/**
 * Which key an item taken at `at` belongs under, by reading time as ingest chooses it: the occupancy
 * covering it ([from, to)), else the meter's own key. Undefined when that occupancy was erased.
 */
export function rightKeyAt(
  occupancies: readonly KeyPeriod[],
  meterKeyId: string,
  at: number,
): string | undefined {
  const covering = occupancies.find((o) => o.from <= at && (o.to === null || at < o.to));
  if (!covering) return meterKeyId;
  return covering.live ? covering.keyId : undefined;
}

/**
 * What of a record sealed under `sealedUnder` must be re-sealed after a change of tenancy from `from`
 * on: the items whose time is at or after `from` and whose right key is now another, grouped per that
 * key (in the record's order). Items before `from`, or still under their right key, stay as they are.
 */
export function planReseal(
  payload: Pick<SealedReadings, 'readings' | 'events'>,
  sealedUnder: string,
  from: number,
  occupancies: readonly KeyPeriod[],
  meterKeyId: string,
): ResealPlan {
  const groups = new Map<string, ResealGroup>();
  let erased = 0;
  const place = (at: number, add: (group: ResealGroup) => void) => {
    if (!(at >= from)) return;
    const keyId = rightKeyAt(occupancies, meterKeyId, at);
    if (keyId === undefined) {
      erased += 1;
      return;
    }
    if (keyId === sealedUnder) return;
    let group = groups.get(keyId);
    if (!group) groups.set(keyId, (group = { keyId, readings: [], events: [] }));
    add(group);
  };
  for (const reading of payload.readings)
    place(Date.parse(reading.intervalStart), (group) => group.readings.push(reading));
  for (const event of payload.events)
    place(Date.parse(event.occurredAt), (group) => group.events.push(event));
  return { groups: [...groups.values()], erased };
}
