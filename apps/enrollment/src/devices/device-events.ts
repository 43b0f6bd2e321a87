import { randomUUID } from 'node:crypto';
import type { DeviceLifecycleEvent, EnrollmentDeviceEvent } from '@meterkeep/contracts';
import type { DeviceRow } from '../core/database';
import { credentialOf } from './device.view';

/** The registry's service name: the actor of its own lifecycle events, which its consumer ignores. */
export const ENROLLMENT_ACTOR = 'enrollment';

type PublishedStatus = EnrollmentDeviceEvent['status'];

function publishedStatus(device: DeviceRow): PublishedStatus {
  if (device.state === 'MANUFACTURED') throw new Error(`device ${device.endpoint_name} is not enrolled`);
  return device.state;
}

/**
 * What bootstrap and telemetry ingest need of a device (compacted topic, key tenant/device): its
 * status, a reference to its credential, and its gateway if it has one. A PSK meter is named by its
 * identity only: the key never goes on a topic.
 */
export function deviceStatusEvent(device: DeviceRow, now: Date): EnrollmentDeviceEvent {
  return {
    eventId: randomUUID(),
    tenantId: device.tenant_id,
    occurredAt: now.toISOString(),
    deviceId: device.endpoint_name,
    status: publishedStatus(device),
    credential: credentialOf(device),
    ...(device.model !== null && { model: device.model }),
    ...(device.class_id !== null && { classId: device.class_id }),
    ...(device.claim_expires_at !== null && { claimExpiresAt: device.claim_expires_at.toISOString() }),
    enrolledAt: device.created_at.toISOString(),
    ...(device.credential_revoked_at !== null && {
      credentialRevokedAt: device.credential_revoked_at.toISOString(),
    }),
    ...(device.gateway_id !== null && { gatewayId: device.gateway_id }),
  };
}

export function lifecycleEvent(
  device: DeviceRow,
  type: DeviceLifecycleEvent['type'],
  actor: string,
  now: Date,
): DeviceLifecycleEvent {
  return {
    eventId: randomUUID(),
    tenantId: device.tenant_id,
    occurredAt: now.toISOString(),
    type,
    deviceId: device.endpoint_name,
    state: device.state,
    actor,
  };
}
