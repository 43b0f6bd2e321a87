import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { deviceKey, endpointName } from './common';

export const otaDeviceStatusEvent = eventEnvelope.extend({
  deviceId: endpointName,
  campaignId: z.string().min(1).max(64),
  status: z.enum(['notified', 'downloading', 'downloaded', 'verifying', 'installing', 'succeeded', 'failed']),
  failureCode: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]*$/)
    .optional(),
});
export type OtaDeviceStatusEvent = z.infer<typeof otaDeviceStatusEvent>;

export const OTA_DEVICE_STATUS = defineTopic<OtaDeviceStatusEvent>({
  name: 'ota.device-status.v1',
  producers: ['ota-distributor'],
  consumers: [],
  schema: otaDeviceStatusEvent,
  key: deviceKey,
  partitions: 6,
  example: {
    eventId: '6f5e4d3c-2b1a-4c9d-8e7f-6a5b4c3d2e1f',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T09:05:00.000Z',
    deviceId: 'MTR-000001',
    campaignId: 'fw-2026-11',
    status: 'succeeded',
  },
});
