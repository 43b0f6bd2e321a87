import type { EnrollmentDeviceEvent, EnrollmentTrustAnchorEvent } from '@meterkeep/contracts';

/** What the read model keeps of one enrolled device (per tenant): no secret, only references. */
export interface DeviceRecord {
  tenantId: string;
  endpointName: string;
  status: EnrollmentDeviceEvent['status'];
  credential: EnrollmentDeviceEvent['credential'];
  /** Set when an operator revoked that credential: it is refused. */
  credentialRevokedAt?: string;
  claimExpiresAt?: string;
  /** When the tenant first enrolled it (absent in records written before it was published). */
  enrolledAt?: string;
  occurredAt: string;
}

/** A manufacturer CA a tenant trusts or disabled, with its certificate (public). */
export interface AnchorRecord {
  tenantId: string;
  caId: string;
  status: EnrollmentTrustAnchorEvent['status'];
  fingerprintSha256: string;
  /** The CA's subject key identifier (hex), when its certificate has one. */
  keyId?: string;
  certificatePem: string;
  occurredAt: string;
}

export function deviceRecordOf(event: EnrollmentDeviceEvent): DeviceRecord {
  return {
    tenantId: event.tenantId,
    endpointName: event.deviceId,
    status: event.status,
    credential: event.credential,
    ...(event.credentialRevokedAt !== undefined && { credentialRevokedAt: event.credentialRevokedAt }),
    ...(event.claimExpiresAt !== undefined && { claimExpiresAt: event.claimExpiresAt }),
    ...(event.enrolledAt !== undefined && { enrolledAt: event.enrolledAt }),
    occurredAt: event.occurredAt,
  };
}

/** True while an unbootstrapped claim has lapsed: the tenant no longer holds the meter. */
export function claimLapsed(device: DeviceRecord, now: Date): boolean {
  return (
    device.status === 'ENROLLED' &&
    device.claimExpiresAt !== undefined &&
    Date.parse(device.claimExpiresAt) <= now.getTime()
  );
}
