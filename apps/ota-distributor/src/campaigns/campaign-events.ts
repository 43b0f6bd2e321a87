import { randomUUID } from 'node:crypto';
import type { OtaCampaignEventType, OtaCampaignV2Event, OtaExecutionState } from '@meterkeep/contracts';
import type { CampaignRow } from '../core/database';
import type { StateCounts } from './domain/halt';

/** An ota.campaigns.v2 event for a campaign's transition (aggregates and key ids only). */
export function campaignEvent(
  row: CampaignRow,
  type: OtaCampaignEventType,
  now: Date,
  extra: Partial<
    Pick<
      OtaCampaignV2Event,
      'actor' | 'phase' | 'counts' | 'reason' | 'haltCode' | 'cancelMode' | 'revertCampaignId' | 'shadow'
    >
  > = {},
): OtaCampaignV2Event {
  return {
    eventId: randomUUID(),
    tenantId: row.tenant_id,
    occurredAt: now.toISOString(),
    campaignId: row.campaign_id,
    type,
    manifestDigest: row.manifest_digest,
    sequenceNumber: Number(row.sequence_number),
    classId: row.class_id,
    ...extra,
  };
}

/** The event's counts from the kept counters (aggregates only). */
export function eventCounts(counts: StateCounts, targets: number): NonNullable<OtaCampaignV2Event['counts']> {
  const of = (...states: OtaExecutionState[]) => states.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
  const all = Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0);
  return {
    targets,
    // Everything past QUEUED was let out to its meter, except what the platform cancelled unnotified.
    notified: all - of('QUEUED'),
    succeeded: of('SUCCEEDED', 'ALREADY_INSTALLED'),
    failed: of('FAILED', 'REJECTED'),
    timedOut: of('TIMED_OUT'),
    rolledBack: of('ROLLED_BACK'),
  };
}
