import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { deviceKey, endpointName } from './common';

/**
 * The operational certificate a device holds now (the latest issued), and whether it was revoked;
 * compacted, so the latest record per device is the truth. Operational endpoints accept a device's
 * certificate only when its serial is the current one and not revoked.
 */
export const bootstrapOperationalCertificateEvent = eventEnvelope.extend({
  deviceId: endpointName,
  /** Lowercase hex, as in device.lifecycle.v1. */
  serial: z.string().regex(/^[0-9a-f]+$/),
  notAfter: z.iso.datetime({ offset: true }),
  status: z.enum(['valid', 'revoked']),
});
export type BootstrapOperationalCertificateEvent = z.infer<typeof bootstrapOperationalCertificateEvent>;

export const BOOTSTRAP_OPERATIONAL_CERTIFICATES = defineTopic<BootstrapOperationalCertificateEvent>({
  name: 'bootstrap.operational-certificates.v1',
  producers: ['bootstrap'],
  consumers: ['telemetry-ingest', 'ota-distributor'],
  schema: bootstrapOperationalCertificateEvent,
  key: deviceKey,
  partitions: 6,
  config: { 'cleanup.policy': 'compact' },
  example: {
    eventId: '7d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T08:00:00.000Z',
    deviceId: 'MTR-000001',
    serial: '5f3a9c',
    notAfter: '2026-12-03T08:00:00.000Z',
    status: 'valid',
  },
});
