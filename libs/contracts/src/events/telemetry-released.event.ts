import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { base64, endpointName } from './common';
import { consentPurpose, consentRecipient } from './privacy-consent.event';

const instant = z.iso.datetime({ offset: true });

/** The window levels the gate releases at (a consent granularity other than none). */
export const releasedGranularity = z.enum(['monthly', 'daily', 'half-hourly']);

/**
 * One value the release gate let out for one (occupancy, recipient, purpose): the sum of the
 * occupancy's interval readings in one calendar window of the tenant's time zone, cut at the
 * occupancy's bounds. The window and its granularity are in the clear (so what left can be checked
 * from raw records); the totals are sealed under the purpose-scoped release key, so destroying that
 * key (withdrawal) or the occupancy's keys (erasure) shreds every released copy. Strict: no subject
 * reference, name or evidence can ride along; the occupancy id is the only link.
 */
export const telemetryReleasedEvent = z.strictObject({
  ...eventEnvelope.shape,
  occupancyId: z.string().min(1).max(64),
  meterId: endpointName,
  recipient: consentRecipient,
  purpose: consentPurpose,
  granularity: releasedGranularity,
  /** The window, [windowStart, windowEnd): a calendar window cut at the occupancy's bounds. */
  windowStart: instant,
  windowEnd: instant,
  /** The purpose-scoped release key that sealed the totals; never the key. */
  keyId: z.string().min(1).max(128),
  algorithm: z.literal('AES-256-GCM'),
  iv: base64,
  ciphertext: base64,
  authTag: base64,
});
export type TelemetryReleasedEvent = z.infer<typeof telemetryReleasedEvent>;

/** What a telemetry.released.v1 ciphertext holds once opened with its release key. */
export const releasedTotals = z.strictObject({
  totals: z
    .array(
      z.strictObject({
        obis: z.string().max(32),
        unit: z.string().max(16),
        /** value × 10^scaler summed over the window, in unit. */
        quantity: z.number(),
        readingCount: z.int().min(1),
      }),
    )
    .max(64),
});
export type ReleasedTotals = z.infer<typeof releasedTotals>;

export const TELEMETRY_RELEASED = defineTopic<TelemetryReleasedEvent>({
  name: 'telemetry.released.v1',
  producers: ['privacy'],
  // Recipients' connectors are granted by the operator, not by the contracts.
  consumers: [],
  schema: telemetryReleasedEvent,
  key: (event) => `${event.tenantId}/${event.occupancyId}`,
  partitions: 6,
  example: {
    eventId: '7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a',
    tenantId: 'utility-north',
    occurredAt: '2026-12-01T00:00:05.000Z',
    occupancyId: 'occ-7f3e',
    meterId: 'MTR-000001',
    recipient: 'supplier',
    purpose: 'billing',
    granularity: 'monthly',
    windowStart: '2026-11-01T00:00:00.000Z',
    windowEnd: '2026-12-01T00:00:00.000Z',
    keyId: 'rk-3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a',
    algorithm: 'AES-256-GCM',
    iv: 'AAECAwQFBgcICQoL',
    ciphertext: 'q83vEjRWeJA=',
    authTag: 'AAECAwQFBgcICQoLDA0ODw==',
  },
});
