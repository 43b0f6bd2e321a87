import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { sha256Hex } from './common';

const certificatePem = z
  .string()
  .max(8_192)
  .regex(/^-----BEGIN CERTIFICATE-----/, 'a PEM certificate');

/**
 * A tenant's operational issuing CA, public material only; compacted, so the latest record per tenant
 * is the truth. Operational endpoints (telemetry, OTA) trust a meter's certificate by this chain.
 */
export const bootstrapIssuingCaEvent = eventEnvelope.extend({
  /** SHA-256 of the issuing CA certificate's DER. */
  fingerprintSha256: sha256Hex,
  /** Issuing CA first, up to the operational root. */
  chainPem: z.array(certificatePem).min(1).max(4),
});
export type BootstrapIssuingCaEvent = z.infer<typeof bootstrapIssuingCaEvent>;

export const BOOTSTRAP_ISSUING_CAS = defineTopic<BootstrapIssuingCaEvent>({
  name: 'bootstrap.issuing-cas.v1',
  producers: ['bootstrap'],
  consumers: ['telemetry-ingest', 'ota-distributor'],
  schema: bootstrapIssuingCaEvent,
  key: (event) => event.tenantId,
  partitions: 3,
  config: { 'cleanup.policy': 'compact' },
  example: {
    eventId: '6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T08:00:00.000Z',
    fingerprintSha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    chainPem: ['-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n'],
  },
});
