import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { sha256Hex } from './common';
import { otaComponentId } from './ota-firmware-common';

/** The factory bundle's identifier rule for vendorId/classId (libs/factory-bundle), repeated here. */
const classId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'class id');

/**
 * A signed firmware manifest the distributor accepted (or later revoked); compacted per tenant and
 * manifest, so the latest record per manifest is the truth. Public facts of the release only: the
 * manifest schema carries no device or occupant identifier, and neither does this event.
 */
export const otaFirmwareEvent = eventEnvelope.extend({
  type: z.enum(['accepted', 'revoked']),
  manifestDigest: sha256Hex,
  classId,
  sequenceNumber: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  components: z
    .array(
      z.object({
        id: otaComponentId,
        version: z.string().min(1).max(64),
        digest: sha256Hex,
        size: z.number().int().positive(),
      }),
    )
    .min(1)
    .max(8),
  provenance: z
    .object({
      sourceDigest: sha256Hex,
      builder: z.string().min(1).max(128),
      sbomDigest: sha256Hex,
    })
    .optional(),
});
export type OtaFirmwareEvent = z.infer<typeof otaFirmwareEvent>;

export const OTA_FIRMWARE = defineTopic<OtaFirmwareEvent>({
  name: 'ota.firmware.v1',
  producers: ['ota-distributor'],
  consumers: [],
  schema: otaFirmwareEvent,
  key: (event) => `${event.tenantId}/${event.manifestDigest}`,
  partitions: 3,
  config: { 'cleanup.policy': 'compact' },
  example: {
    eventId: '3b1f7c2e-8d4a-4e6b-9c5d-2a7f1e3b4c5d',
    tenantId: 'utility-north',
    occurredAt: '2026-12-02T09:00:00.000Z',
    type: 'accepted',
    manifestDigest: '5f2b1c7e0d9a8b6c4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d',
    classId: 'em300-v2',
    sequenceNumber: 43,
    components: [
      {
        id: 'app',
        version: '4.3.0',
        digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        size: 1_048_576,
      },
    ],
  },
});
