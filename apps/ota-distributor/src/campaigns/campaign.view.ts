import type { OtaCampaignView } from '@meterkeep/contracts';
import type { CampaignPhaseRow, CampaignRow } from '../core/database';
import { type PhaseCounts, totalCounts } from './campaigns.repository';
import { SHADOW_PHASE } from './domain/shadow';

export function campaignView(
  row: CampaignRow,
  phases: CampaignPhaseRow[],
  counts: PhaseCounts,
): OtaCampaignView {
  const shadow = phases.find((p) => p.phase === SHADOW_PHASE);
  return {
    campaignId: row.campaign_id,
    name: row.name,
    // PLANNING is the distributor's own: the contract's campaign is APPROVED, with the plan under way.
    state: row.state === 'PLANNING' ? 'APPROVED' : row.state,
    manifestId: row.manifest_id,
    manifestDigest: row.manifest_digest,
    classId: row.class_id,
    sequenceNumber: Number(row.sequence_number),
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    submittedBy: row.submitted_by,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at?.toISOString() ?? null,
    ...(row.state === 'PLANNING' && {
      planning: { since: row.updated_at.toISOString(), startedBy: row.started_by ?? '' },
    }),
    phases: phases
      .filter((p) => p.phase !== SHADOW_PHASE)
      .map((p) => ({
        phase: p.phase,
        name: p.name,
        state: p.state,
        targets: p.targets,
        successThresholdPercent: Number(p.success_threshold_percent),
        minSoakMinutes: p.min_soak_minutes,
        counts: counts.get(p.phase) ?? {},
      })),
    counts: totalCounts(counts),
    ...(shadow && {
      shadow: {
        state: shadow.state === 'SOAKING' ? 'ACTIVE' : shadow.state,
        twins: (shadow.size as { deviceIds: string[] }).deviceIds.length,
        counts: counts.get(SHADOW_PHASE) ?? {},
      },
    }),
    ...haltOf(row.halt_reason),
    revertCampaignId: row.revert_campaign_id ?? null,
    definition: row.body as Record<string, unknown>,
  };
}

/** The stored halt reason: an abort rule's crossing, or `{code: MANIFEST_REVOKED | SHADOW_FAILED, …}`. */
function haltOf(stored: unknown): Pick<OtaCampaignView, 'haltReason' | 'haltCode'> {
  if (stored === null || stored === undefined) return { haltReason: null, haltCode: null };
  const code = (stored as { code?: string }).code;
  if (code === 'MANIFEST_REVOKED') return { haltReason: null, haltCode: code };
  // The route's haltCode enum predates the shadow run: its halt says so in `shadow.state` (FAILED).
  if (code === 'SHADOW_FAILED') return { haltReason: null };
  return { haltReason: stored as OtaCampaignView['haltReason'], haltCode: 'ABORT_RULE' };
}
