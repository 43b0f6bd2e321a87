import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';

/** A data-subject request fanned out to every service; the subject is an opaque reference, never a name. */
export const privacyRequestEvent = eventEnvelope.extend({
  requestId: z.string().min(1).max(64),
  kind: z.enum(['erasure', 'access', 'key-destroyed']),
  subjectRef: z.string().min(1).max(128),
  occupancyIds: z.array(z.string().min(1).max(64)).max(1_000),
  keyIds: z.array(z.string().min(1).max(128)).max(1_000),
});
export type PrivacyRequestEvent = z.infer<typeof privacyRequestEvent>;

export const PRIVACY_REQUESTS = defineTopic<PrivacyRequestEvent>({
  name: 'privacy.requests.v1',
  producers: ['privacy'],
  consumers: [],
  schema: privacyRequestEvent,
  key: (event) => `${event.tenantId}/${event.requestId}`,
  partitions: 3,
  example: {
    eventId: '2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T10:00:00.000Z',
    requestId: 'dsr-0042',
    kind: 'erasure',
    subjectRef: 'subj_9c1e',
    occupancyIds: ['occ-7f3e'],
    keyIds: ['occ-7f3e'],
  },
});
