import type { UpdateAuthorityView } from '@meterkeep/contracts';
import type { UpdateAuthorityRow } from '../core/database';

export function updateAuthorityView(row: UpdateAuthorityRow): UpdateAuthorityView {
  return {
    keyId: row.key_id,
    publicKeyPem: row.public_key_pem,
    algorithm: 'ES256',
    registeredAt: row.registered_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}
