import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';

/**
 * An operator API key revoked in enrollment, so services that cache introspection answers (privacy)
 * drop it at once. Names the key by its id only: never the key, its secret or the secret's hash.
 */
export const enrollmentApiKeyRevocationEvent = eventEnvelope.extend({
  keyId: z.string().regex(/^[a-z2-7]{12}$/, 'API key id'),
});
export type EnrollmentApiKeyRevocationEvent = z.infer<typeof enrollmentApiKeyRevocationEvent>;

export const ENROLLMENT_API_KEY_REVOCATIONS = defineTopic<EnrollmentApiKeyRevocationEvent>({
  name: 'enrollment.api-key-revocations.v1',
  producers: ['enrollment'],
  consumers: ['privacy', 'ota-distributor'],
  schema: enrollmentApiKeyRevocationEvent,
  key: (event) => `${event.tenantId}/${event.keyId}`,
  partitions: 1,
  example: {
    eventId: '3d0b6c1e-8f4a-4c2e-9b7d-5a1f0e2c3b4d',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T08:00:00.000Z',
    keyId: 'abcdefgh2345',
  },
});
