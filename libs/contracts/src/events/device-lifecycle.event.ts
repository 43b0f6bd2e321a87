import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { deviceKey, endpointName } from './common';

export const deviceLifecycleTransition = z.enum([
  'enrolled',
  'claimed',
  'bootstrapped',
  'certificate-renewed',
  'suspended',
  'resumed',
  'decommissioned',
]);

export const deviceLifecycleEvent = eventEnvelope.extend({
  type: deviceLifecycleTransition,
  deviceId: endpointName,
  state: z.enum(['MANUFACTURED', 'ENROLLED', 'ACTIVE', 'SUSPENDED', 'DECOMMISSIONED']),
  /** Operator API key id or service name; never a secret. */
  actor: z.string().min(1).max(128),
  certificateSerial: z
    .string()
    .regex(/^[0-9a-f]+$/)
    .optional(),
});
export type DeviceLifecycleEvent = z.infer<typeof deviceLifecycleEvent>;

export const DEVICE_LIFECYCLE = defineTopic<DeviceLifecycleEvent>({
  name: 'device.lifecycle.v1',
  producers: ['enrollment', 'bootstrap'],
  consumers: ['enrollment', 'bootstrap', 'ota-distributor'],
  schema: deviceLifecycleEvent,
  key: deviceKey,
  partitions: 6,
  example: {
    eventId: '5b0b2f5e-8f0c-4b8e-9d69-3c1f0f7b2a11',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T08:00:00.000Z',
    type: 'bootstrapped',
    deviceId: 'MTR-000001',
    state: 'ACTIVE',
    actor: 'bootstrap',
    certificateSerial: '5f3a9c',
  },
});
