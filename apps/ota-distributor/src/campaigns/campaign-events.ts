import { randomUUID } from 'node:crypto';
import type { OtaCampaignEventType, OtaCampaignV2Event } from '@meterkeep/contracts';
import type { CampaignRow } from '../core/database';

/** An ota.campaigns.v2 event for a campaign's transition (aggregates and key ids only). */
export function campaignEvent(
  row: CampaignRow,
  type: OtaCampaignEventType,
  now: Date,
  extra: Partial<
    Pick<OtaCampaignV2Event, 'actor' | 'phase' | 'counts' | 'reason' | 'cancelMode' | 'revertCampaignId'>
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
