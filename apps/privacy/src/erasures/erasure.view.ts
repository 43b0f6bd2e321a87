import type { ErasureConfirmationRow, ErasureRow } from '../core/database';
import type { ErasureScope, RequestedScope, StoredRetention } from './erasure-scope';
import type { ErasureView } from './erasures.schemas';

export function toErasureView(
  row: ErasureRow,
  confirmations: readonly ErasureConfirmationRow[],
  certificateId: string | null,
): ErasureView {
  const scope = row.scope as ErasureScope | RequestedScope | null;
  const occupancyIds =
    scope === null
      ? []
      : 'occupancies' in scope
        ? scope.occupancies.map((o) => o.occupancyId)
        : scope.occupancyIds;
  return {
    erasureId: row.erasure_id,
    subjectRef: row.subject_ref,
    state: row.state,
    failedIn: row.failed_in,
    lastError: row.last_error,
    partiallyRetained: (row.retentions as StoredRetention[]).length > 0,
    requestedAt: row.requested_at.toISOString(),
    keysDestroyedAt: row.keys_destroyed_at?.toISOString() ?? null,
    certifiedAt: row.certified_at?.toISOString() ?? null,
    occupancyIds,
    confirmations: confirmations.map((c) => ({
      service: c.service,
      instance: c.instance,
      outcome: c.outcome,
      at: c.confirmed_at.toISOString(),
    })),
    certificateId,
  };
}
