import { z } from 'zod';
import { enrollmentDeviceEvent } from '@meterkeep/contracts';
import { timestamp } from '@meterkeep/service-runtime';
import { apiSchema } from '../openapi/schemas';
import { DEVICE_STATES } from './device-state-machine';

export const EndpointParam = enrollmentDeviceEvent.shape.deviceId;
export const deviceState = z.enum(DEVICE_STATES);

export const DeviceViewSchema = apiSchema(
  'Device',
  z.object({
    endpointName: z.string(),
    state: deviceState,
    credential: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('certificate'), fingerprintSha256: z.string() }),
      z
        .object({ kind: z.literal('psk'), pskIdentity: z.string() })
        .describe('The PSK itself is never returned'),
    ]),
    model: z.string().nullable(),
    classId: z
      .string()
      .nullable()
      .describe('The device class of the factory bundle, when the enrollment gave it'),
    batchId: z.string().nullable(),
    claimExpiresAt: timestamp.nullable(),
    operationalCertificateSerial: z.string().nullable(),
    gatewayId: z
      .string()
      .nullable()
      .describe(
        "The gateway (data concentrator, a device of this tenant) allowed to post this meter's readings",
      ),
    version: z.number().int(),
    createdAt: timestamp,
    updatedAt: timestamp,
  }),
);
export type DeviceView = z.infer<typeof DeviceViewSchema>;

export const DevicePageSchema = apiSchema(
  'DevicePage',
  z.object({
    items: z.array(DeviceViewSchema),
    nextCursor: z.string().nullable().describe('Pass as ?cursor= for the next page; null on the last page'),
  }),
);
export type DevicePage = z.infer<typeof DevicePageSchema>;

export const ListDevicesQuerySchema = z.strictObject({
  state: deviceState.optional(),
  model: z.string().min(1).max(64).optional(),
  batchId: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional(),
});
export type ListDevicesQuery = z.infer<typeof ListDevicesQuerySchema>;

export const ClaimDeviceRequestSchema = apiSchema(
  'ClaimDeviceRequest',
  z.strictObject({
    certificateSha256: z.string().optional().describe('SHA-256 of the factory certificate (hex); or a PSK'),
    pskIdentity: z.string().optional(),
    pskKeyBase64: z.string().optional().describe('16-64 bytes, base64; stored encrypted, never returned'),
    model: z.string().optional(),
    classId: z
      .string()
      .optional()
      .describe(
        'The device class of the factory bundle (what firmware manifests name); 1-64 of A-Z a-z 0-9 . _ : -',
      ),
    batchId: z.string().optional(),
    claimExpiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('After this instant, unless bootstrapped, the claim lapses and another tenant may claim'),
  }),
  'input',
);
export type ClaimDeviceRequest = z.infer<typeof ClaimDeviceRequestSchema>;

export const AssignGatewayRequestSchema = apiSchema(
  'AssignGatewayRequest',
  z.strictObject({
    gatewayId: EndpointParam.describe('The endpoint name of a device of this tenant, not decommissioned'),
  }),
  'input',
);
export type AssignGatewayRequest = z.infer<typeof AssignGatewayRequestSchema>;

export const ClaimResultSchema = apiSchema(
  'ClaimResult',
  z.object({ outcome: z.enum(['claimed', 'unchanged']), device: DeviceViewSchema }),
);
export type ClaimResult = z.infer<typeof ClaimResultSchema>;
