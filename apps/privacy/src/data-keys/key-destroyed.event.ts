import { randomUUID } from 'node:crypto';
import type { PrivacyOccupancyEvent } from '@meterkeep/contracts';
import type { DataKeyRow } from '../core/database';

/** Crypto-shredding announced: consumers drop the key at once. Ids and times only. */
export function keyDestroyedEvent(key: DataKeyRow, now: Date): PrivacyOccupancyEvent {
  return {
    eventId: randomUUID(),
    tenantId: key.tenant_id,
    occurredAt: now.toISOString(),
    type: 'key-destroyed',
    meterId: key.meter_id,
    ...(key.occupancy_id !== null && { occupancyId: key.occupancy_id }),
    keyId: key.key_id,
  };
}
