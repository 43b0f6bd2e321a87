import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { deviceKey, endpointName, sha256Hex } from './common';

/** What bootstrap needs of one enrolled device; compacted, so the latest record per device is the truth. */
export const enrollmentDeviceEvent = eventEnvelope.extend({
  deviceId: endpointName,
  status: z.enum(['ENROLLED', 'ACTIVE', 'SUSPENDED', 'DECOMMISSIONED']),
  credential: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('certificate'), fingerprintSha256: sha256Hex }),
    // A PSK device is named by its identity only: the key itself never travels on a topic.
    z.object({ kind: z.literal('psk'), pskIdentity: z.string().min(1).max(128) }),
  ]),
  model: z.string().max(64).optional(),
  /**
   * The device class (the factory bundle's classId: what firmware manifests name), when enrollment
   * knows it (the enrollment list's class_id). Added later: a consumer falls back to `model` without it.
   */
  classId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'class id')
    .optional(),
  claimExpiresAt: z.iso.datetime({ offset: true }).optional(),
  /**
   * When this tenant first enrolled the meter. Names are per tenant: when tenants trusting the same CA
   * hold records naming the same certificate, the first to enroll holds the meter.
   */
  enrolledAt: z.iso.datetime({ offset: true }).optional(),
  /**
   * Set when an operator revoked the factory credential above: bootstrap refuses it. A rotation
   * publishes the new credential without it.
   */
  credentialRevokedAt: z.iso.datetime({ offset: true }).optional(),
  /** The gateway (data concentrator) allowed to post this meter's readings, if any. */
  gatewayId: endpointName.optional(),
});
export type EnrollmentDeviceEvent = z.infer<typeof enrollmentDeviceEvent>;

export const ENROLLMENT_DEVICES = defineTopic<EnrollmentDeviceEvent>({
  name: 'enrollment.devices.v1',
  producers: ['enrollment'],
  consumers: ['bootstrap', 'telemetry-ingest', 'ota-distributor'],
  schema: enrollmentDeviceEvent,
  key: deviceKey,
  partitions: 6,
  config: { 'cleanup.policy': 'compact' },
  example: {
    eventId: '0d0f6f0e-41b4-4f3c-8f45-0f6d3b8c9e21',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T08:00:00.000Z',
    deviceId: 'MTR-000001',
    status: 'ENROLLED',
    credential: {
      kind: 'certificate',
      fingerprintSha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    },
    model: 'EM-300',
    classId: 'em300-eu',
    enrolledAt: '2026-11-26T08:00:00.000Z',
  },
});
