import type { EnrollmentDeviceEvent } from '@meterkeep/contracts';
import type { DeviceRow } from '../core/database';
import type { DeviceView } from './devices.schemas';

/** A device as the API shows it: the credential by reference only (never a PSK). */
export function toDeviceView(row: DeviceRow): DeviceView {
  return {
    endpointName: row.endpoint_name,
    state: row.state,
    credential: credentialOf(row),
    model: row.model,
    classId: row.class_id,
    batchId: row.batch_id,
    claimExpiresAt: row.claim_expires_at?.toISOString() ?? null,
    operationalCertificateSerial: row.operational_certificate_serial,
    gatewayId: row.gateway_id,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** A device's credential by reference: a fingerprint, or a PSK's identity (never the key). */
export function credentialOf(row: DeviceRow): EnrollmentDeviceEvent['credential'] {
  return row.credential_kind === 'certificate'
    ? { kind: 'certificate', fingerprintSha256: row.certificate_fingerprint! }
    : { kind: 'psk', pskIdentity: row.psk_identity! };
}
