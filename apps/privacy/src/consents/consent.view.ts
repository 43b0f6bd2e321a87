import type { ConsentRow } from '../core/database';
import type { ConsentEntryView } from './consents.schemas';

export function toConsentEntryView(row: ConsentRow): ConsentEntryView {
  return {
    consentId: row.consent_id,
    occupancyId: row.occupancy_id,
    purpose: row.purpose,
    recipient: row.recipient,
    granularity: row.granularity as ConsentEntryView['granularity'],
    basis: row.basis as ConsentEntryView['basis'],
    status: row.status as ConsentEntryView['status'],
    effectiveFrom: row.effective_from.toISOString(),
    effectiveTo: row.effective_to?.toISOString() ?? null,
    historicalFrom: row.historical_from?.toISOString() ?? null,
    noticeSentAt: row.notice_sent_at?.toISOString() ?? null,
    evidenceRef: row.evidence_ref,
    actor: row.actor,
    policy: row.policy,
    version: row.version,
    recordedAt: row.recorded_at.toISOString(),
  };
}
