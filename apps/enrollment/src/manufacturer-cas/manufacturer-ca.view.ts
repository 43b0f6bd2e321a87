import type { ManufacturerCaRow } from '../core/database';
import type { ManufacturerCaView } from './manufacturer-cas.schemas';

export function toManufacturerCaView(row: ManufacturerCaRow): ManufacturerCaView {
  return {
    caId: row.ca_id,
    status: row.status,
    fingerprintSha256: row.fingerprint_sha256,
    subject: row.subject,
    notAfter: row.not_after.toISOString(),
    verificationExpiresAt:
      row.status === 'PENDING_VERIFICATION' ? (row.verification_expires_at?.toISOString() ?? null) : null,
    createdAt: row.created_at.toISOString(),
    verifiedAt: row.verified_at?.toISOString() ?? null,
    disabledAt: row.disabled_at?.toISOString() ?? null,
  };
}
