import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { sha256Hex } from './common';

/** A manufacturer CA a tenant trusts (or no longer trusts) for bootstrap; compacted per CA. */
export const enrollmentTrustAnchorEvent = eventEnvelope.extend({
  caId: z.string().min(1).max(64),
  status: z.enum(['TRUSTED', 'DISABLED']),
  fingerprintSha256: sha256Hex,
  certificatePem: z.string().startsWith('-----BEGIN CERTIFICATE-----').max(16_384),
});
export type EnrollmentTrustAnchorEvent = z.infer<typeof enrollmentTrustAnchorEvent>;

export const ENROLLMENT_TRUST_ANCHORS = defineTopic<EnrollmentTrustAnchorEvent>({
  name: 'enrollment.trust-anchors.v1',
  producers: ['enrollment'],
  consumers: ['bootstrap'],
  schema: enrollmentTrustAnchorEvent,
  key: (event) => `${event.tenantId}/${event.caId}`,
  partitions: 1,
  config: { 'cleanup.policy': 'compact' },
  example: {
    eventId: '7c1f9a52-0b1e-4f0a-a3f5-2b9e0c4d5e66',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T08:00:00.000Z',
    caId: 'acme-meters-2026',
    status: 'TRUSTED',
    fingerprintSha256: '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
    certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n',
  },
});
