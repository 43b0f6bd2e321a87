import { randomUUID } from 'node:crypto';
import type { PrivacyOccupancyEvent } from '@meterkeep/contracts';
import type { OccupancyRow } from '../core/database';

/** An occupancy change as ingest needs it: ids and times only, never the subject reference. */
export function occupancyEvent(
  type: 'opened' | 'closed',
  row: OccupancyRow,
  now: Date,
): PrivacyOccupancyEvent {
  return {
    eventId: randomUUID(),
    tenantId: row.tenant_id,
    occurredAt: now.toISOString(),
    type,
    meterId: row.meter_id,
    occupancyId: row.occupancy_id,
    keyId: row.key_id,
    from: row.valid_from.toISOString(),
    ...(row.valid_to && { to: row.valid_to.toISOString() }),
  };
}
