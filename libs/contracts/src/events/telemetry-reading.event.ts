import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { base64, endpointName } from './common';

/**
 * A batch of readings sealed at ingest under the data key of the meter's occupancy: the topic never
 * holds a reading in the clear, so destroying the key erases every copy.
 */
export const telemetryReadingEvent = eventEnvelope.extend({
  meterId: endpointName,
  /** Which data key sealed it (occupancy or per-meter key id); never the key. */
  keyId: z.string().min(1).max(128),
  algorithm: z.literal('AES-256-GCM'),
  iv: base64,
  ciphertext: base64,
  authTag: base64,
  readingCount: z.number().int().positive().max(10_000),
  /**
   * The reading-time bounds of what is sealed inside, inclusive: the earliest and the latest item time
   * (a reading's interval start, an event's occurrence). A reader checks which occupancy's time a record
   * holds, or that an erased period is covered, without decrypting. Absent on records sealed before.
   */
  intervalFrom: z.iso.datetime().optional(),
  intervalTo: z.iso.datetime().optional(),
  /**
   * A re-sealed record (a back-dated change of tenancy): the eventIds of the records whose items of
   * this record's times it replaces, under the key now right for them. Those records' other items stand.
   */
  supersedes: z.array(z.uuid()).min(1).max(16).optional(),
});
export type TelemetryReadingEvent = z.infer<typeof telemetryReadingEvent>;

export const TELEMETRY_READINGS = defineTopic<TelemetryReadingEvent>({
  name: 'telemetry.readings.v1',
  // Privacy's re-seal job (a back-dated change of tenancy) republishes records under the right key.
  producers: ['telemetry-ingest', 'privacy'],
  // The ingest reads its own batch receipts back at start-up (BatchRecovery); privacy's release gate
  // opens them to release what consent permits, and reads an erased meter's records back for its
  // certificate's inventory and verification. Other readers' principals are granted by the operator.
  consumers: ['telemetry-ingest', 'privacy'],
  schema: telemetryReadingEvent,
  key: (event) => `${event.tenantId}/${event.meterId}`,
  partitions: 12,
  example: {
    eventId: '3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T08:30:00.000Z',
    meterId: 'MTR-000001',
    keyId: 'occ-7f3e',
    algorithm: 'AES-256-GCM',
    iv: 'AAECAwQFBgcICQoL',
    ciphertext: 'q83vEjRWeJA=',
    authTag: 'AAECAwQFBgcICQoLDA0ODw==',
    readingCount: 48,
    intervalFrom: '2026-11-25T08:30:00.000Z',
    intervalTo: '2026-11-26T08:00:00.000Z',
  },
});
