import type { FirmwareManifestView } from '@meterkeep/contracts';
import type { ManifestRow } from '../core/database';

export function manifestView(row: ManifestRow): FirmwareManifestView {
  return {
    manifestId: row.manifest_id,
    manifestDigest: row.digest,
    envelopeSha256: row.envelope_sha256,
    classId: row.class_id,
    vendorId: row.vendor_id,
    sequenceNumber: Number(row.sequence_number),
    components: row.components,
    issuedAt: row.issued_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
    signerKeyIds: row.signer_key_ids,
    state: row.state,
    acceptedAt: row.accepted_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}
