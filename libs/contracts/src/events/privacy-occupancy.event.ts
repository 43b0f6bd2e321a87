import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { endpointName } from './common';

/**
 * Changes to who lives behind a meter, as ingest needs them to pick data keys: carries ids and times
 * only, never a subject or a key. `key-destroyed` announces crypto-shredding: drop the key at once.
 */
export const privacyOccupancyEvent = eventEnvelope.extend({
  type: z.enum(['opened', 'closed', 'key-destroyed']),
  meterId: endpointName,
  /** Absent for a per-meter key (a meter with no occupancy). */
  occupancyId: z.string().min(1).max(64).optional(),
  keyId: z.string().min(1).max(128),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
export type PrivacyOccupancyEvent = z.infer<typeof privacyOccupancyEvent>;

export const PRIVACY_OCCUPANCIES = defineTopic<PrivacyOccupancyEvent>({
  name: 'privacy.occupancies.v1',
  producers: ['privacy'],
  consumers: ['telemetry-ingest'],
  schema: privacyOccupancyEvent,
  key: (event) => `${event.tenantId}/${event.meterId}`,
  partitions: 6,
  example: {
    eventId: '8e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T09:00:00.000Z',
    type: 'opened',
    meterId: 'MTR-000001',
    occupancyId: 'occ-7f3e',
    keyId: 'dk-occ-7f3e',
    from: '2026-11-01T00:00:00.000Z',
  },
});
