import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';

/**
 * An erasure certificate was issued (spec privacy.md §4.6): its id, the saga's id and the SHA-256 of its
 * signed canonical bytes only; the certificate itself is fetched from privacy.
 */
export const privacyErasureEvent = z.strictObject({
  ...eventEnvelope.shape,
  certificateId: z.string().min(1).max(64),
  requestId: z.string().min(1).max(64),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  issuedAt: z.iso.datetime({ offset: true }),
});
export type PrivacyErasureEvent = z.infer<typeof privacyErasureEvent>;

export const PRIVACY_ERASURES = defineTopic<PrivacyErasureEvent>({
  name: 'privacy.erasures.v1',
  producers: ['privacy'],
  consumers: [],
  schema: privacyErasureEvent,
  key: (event) => `${event.tenantId}/${event.requestId}`,
  partitions: 3,
  example: {
    eventId: '4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T10:00:04.000Z',
    certificateId: 'ec-1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
    requestId: 'er-0b7d3c1e-5a2f-4c8e-9d1b-2f3a4b5c6d7e',
    digest: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    issuedAt: '2026-11-26T10:00:04.000Z',
  },
});
