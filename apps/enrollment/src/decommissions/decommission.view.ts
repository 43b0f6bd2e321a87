import type { DecommissionRow } from '../core/database';
import { DECOMMISSION_STEPS, type StepConfirmation } from './decommission-record';
import type { DecommissionView } from './decommissions.schemas';

export type { DecommissionView };

/** A decommissioning as the operator reads it: each step's latest answer, the signed record once done. */
export function toDecommissionView(
  row: DecommissionRow,
  confirmations: readonly StepConfirmation[],
): DecommissionView {
  return {
    decommissionId: row.decommission_id,
    endpointName: row.endpoint_name,
    state: row.state,
    requestedBy: row.requested_by,
    requestedAt: row.requested_at.toISOString(),
    attempts: row.attempt,
    nextAttemptAt: row.state === 'CONFIRMING' ? row.next_attempt_at.toISOString() : null,
    steps: DECOMMISSION_STEPS.map((service) => {
      const c = confirmations.find((x) => x.service === service);
      return {
        service,
        outcome: c?.outcome ?? 'awaiting',
        attempt: c?.attempt ?? null,
        detail: c?.detail ?? null,
        confirmedAt: c?.confirmedAt.toISOString() ?? null,
      };
    }),
    record: (row.record ?? null) as DecommissionView['record'],
    recordDigest: row.record_digest,
    auditSequence: row.audit_sequence === null ? null : Number(row.audit_sequence),
    recordedAt: row.recorded_at?.toISOString() ?? null,
  };
}
