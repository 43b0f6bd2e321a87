import type { OtaCampaignView, OtaExecutionState } from '@meterkeep/contracts';
import type { CampaignPhaseRow, CampaignRow } from '../core/database';
import type { PhaseCounts } from './campaigns.repository';

export function campaignView(
  row: CampaignRow,
  phases: CampaignPhaseRow[],
  counts: PhaseCounts,
): OtaCampaignView {
  const total: Partial<Record<OtaExecutionState, number>> = {};
  for (const byState of counts.values())
    for (const [state, n] of Object.entries(byState) as [OtaExecutionState, number][])
      total[state] = (total[state] ?? 0) + n;
  return {
    campaignId: row.campaign_id,
    name: row.name,
    state: row.state,
    manifestId: row.manifest_id,
    manifestDigest: row.manifest_digest,
    classId: row.class_id,
    sequenceNumber: Number(row.sequence_number),
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    submittedBy: row.submitted_by,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at?.toISOString() ?? null,
    phases: phases.map((p) => ({
      phase: p.phase,
      name: p.name,
      state: p.state,
      targets: p.targets,
      successThresholdPercent: Number(p.success_threshold_percent),
      minSoakMinutes: p.min_soak_minutes,
      counts: counts.get(p.phase) ?? {},
    })),
    counts: total,
    ...haltOf(row.halt_reason),
    revertCampaignId: row.revert_campaign_id ?? null,
    definition: row.body as Record<string, unknown>,
  };
}

/** The stored halt reason: an abort rule's crossing, or `{code: MANIFEST_REVOKED, …}` (revocation). */
function haltOf(stored: unknown): Pick<OtaCampaignView, 'haltReason' | 'haltCode'> {
  if (stored === null || stored === undefined) return { haltReason: null, haltCode: null };
  if ((stored as { code?: string }).code === 'MANIFEST_REVOKED')
    return { haltReason: null, haltCode: 'MANIFEST_REVOKED' };
  return { haltReason: stored as OtaCampaignView['haltReason'], haltCode: 'ABORT_RULE' };
}
