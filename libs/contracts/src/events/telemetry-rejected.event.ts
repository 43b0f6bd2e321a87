import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { endpointName } from './common';

/** A reading refused at ingest, with why: nothing is dropped silently. Carries no reading value. */
export const telemetryRejectedEvent = eventEnvelope.extend({
  meterId: endpointName,
  batchId: z.string().min(1).max(128),
  /** Which list of the batch the index points into; readings when absent. */
  section: z.enum(['readings', 'events']).optional(),
  index: z.number().int().nonnegative(),
  code: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
  reason: z.string().min(1).max(512),
});
export type TelemetryRejectedEvent = z.infer<typeof telemetryRejectedEvent>;

export const TELEMETRY_REJECTED = defineTopic<TelemetryRejectedEvent>({
  name: 'telemetry.rejected.v1',
  producers: ['telemetry-ingest'],
  // The ingest reads its own batch receipts back at start-up (BatchRecovery).
  consumers: ['telemetry-ingest'],
  schema: telemetryRejectedEvent,
  key: (event) => `${event.tenantId}/${event.meterId}`,
  partitions: 3,
  example: {
    eventId: '8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T08:30:00.000Z',
    meterId: 'MTR-000001',
    batchId: 'b-20261126-0001',
    index: 3,
    code: 'OBIS_INVALID',
    reason: 'obis "1-0:1.8" is not of the form A-B:C.D.E*F',
  },
});
