import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';

/** One service's part of an erasure saga, done or failed. */
export const privacyConfirmationEvent = eventEnvelope.extend({
  requestId: z.string().min(1).max(64),
  service: z.enum(['enrollment', 'bootstrap', 'telemetry-ingest', 'ota-distributor', 'privacy']),
  outcome: z.enum(['completed', 'failed', 'not-applicable']),
  /** Which replica answered (each replica of a service holding caches confirms for itself). */
  instance: z.string().min(1).max(128).optional(),
  detail: z.string().max(512).optional(),
});
export type PrivacyConfirmationEvent = z.infer<typeof privacyConfirmationEvent>;

export const PRIVACY_CONFIRMATIONS = defineTopic<PrivacyConfirmationEvent>({
  name: 'privacy.confirmations.v1',
  // Every service confirms its part of an erasure saga; privacy collects them. Those holding no subject
  // data answer not-applicable.
  producers: ['privacy', 'telemetry-ingest', 'enrollment', 'bootstrap', 'ota-distributor'],
  consumers: ['privacy'],
  schema: privacyConfirmationEvent,
  key: (event) => `${event.tenantId}/${event.requestId}`,
  partitions: 3,
  example: {
    eventId: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T10:00:05.000Z',
    requestId: 'dsr-0042',
    service: 'telemetry-ingest',
    outcome: 'completed',
  },
});
