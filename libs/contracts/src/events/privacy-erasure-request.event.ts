import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { endpointName } from './common';

/**
 * An erasure saga asks every service to purge what it holds in the clear about some meters' erased
 * occupancies and keys, and to confirm on privacy.confirmations.v1. Ids only: unlike
 * privacy.requests.v1 it carries no subject reference (the link from meter to person stays in privacy,
 * spec privacy.md §4.10). Published again, with the next attempt number, while a confirmation is missing.
 */
export const privacyErasureRequestEvent = z.strictObject({
  ...eventEnvelope.shape,
  requestId: z.string().min(1).max(64),
  /** 1 on the first fan-out; a retry for a missing confirmation counts up. */
  attempt: z.number().int().min(1).max(10_000),
  meterIds: z.array(endpointName).min(1).max(1_000),
  occupancyIds: z.array(z.string().min(1).max(64)).max(1_000),
  /** The keys destroyed by the saga (crypto-shredded): anything cached of them goes. */
  keyIds: z.array(z.string().min(1).max(128)).max(1_000),
});
export type PrivacyErasureRequestEvent = z.infer<typeof privacyErasureRequestEvent>;

export const PRIVACY_ERASURE_REQUESTS = defineTopic<PrivacyErasureRequestEvent>({
  name: 'privacy.erasure-requests.v1',
  producers: ['privacy'],
  consumers: ['telemetry-ingest', 'enrollment', 'bootstrap', 'ota-distributor'],
  schema: privacyErasureRequestEvent,
  key: (event) => `${event.tenantId}/${event.requestId}`,
  partitions: 3,
  example: {
    eventId: '3b4c5d6e-7f8a-4b9c-8d0e-1f2a3b4c5d6e',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T10:00:01.000Z',
    requestId: 'er-0b7d3c1e-5a2f-4c8e-9d1b-2f3a4b5c6d7e',
    attempt: 1,
    meterIds: ['MTR-0001'],
    occupancyIds: ['occ-7f3e'],
    keyIds: ['dk-7f3e'],
  },
});
