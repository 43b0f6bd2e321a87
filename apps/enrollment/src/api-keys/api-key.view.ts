import type { ApiKeyRow } from '../core/database';
import type { ApiKeyView } from './api-keys.schemas';

export function toApiKeyView(row: ApiKeyRow): ApiKeyView {
  return {
    keyId: row.key_id,
    role: row.role,
    name: row.name,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}
