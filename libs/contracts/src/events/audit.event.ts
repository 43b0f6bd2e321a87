import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { sha256Hex } from './common';

/** A security-relevant action, hash-chained per tenant: each record names the digest of the one before. */
export const auditEvent = eventEnvelope.extend({
  sequence: z.number().int().nonnegative(),
  action: z.string().regex(/^[a-z]+(\.[a-z-]+)+$/),
  actor: z.string().min(1).max(128),
  subject: z.string().min(1).max(256),
  outcome: z.enum(['allowed', 'refused']),
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  previousDigest: sha256Hex,
  digest: sha256Hex,
});
export type AuditEvent = z.infer<typeof auditEvent>;

/**
 * The platform's own audit chain, in the tenantId of its records: refusals that cannot be pinned on a
 * real tenant (a service asking for a tenant it holds no grant for may have made the id up; it must
 * not create chains at will). Never a tenant id: those start with a letter or a digit.
 */
export const PLATFORM_AUDIT_CHAIN = '_platform';

export const AUDIT_EVENTS = defineTopic<AuditEvent>({
  name: 'audit.events.v1',
  producers: ['enrollment', 'privacy', 'ota-distributor'],
  consumers: [],
  schema: auditEvent,
  // One partition per tenant's chain keeps it in order.
  key: (event) => event.tenantId,
  partitions: 3,
  example: {
    eventId: '4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T08:00:00.000Z',
    sequence: 7,
    action: 'device.claim-refused',
    actor: 'key_2f9a',
    subject: 'MTR-000001',
    outcome: 'refused',
    detail: { claimedBy: 'another-tenant' },
    previousDigest: '0000000000000000000000000000000000000000000000000000000000000000',
    digest: 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb',
  },
});
