import { Injectable } from '@nestjs/common';
import type { OtaCampaignDefinition } from '@meterkeep/contracts';
import type { CampaignRow, Executor } from '../core/database';
import { CampaignsRepository, totalCounts } from './campaigns.repository';
import { ADMISSION_WINDOW_MS, admit } from './domain/admission';

/**
 * Admission of a RUNNING campaign's open phase (spec §6.5): the domain rule decides from the
 * admissions of the last 60 s (kept on the executions), the unfinished admitted executions per gateway
 * and the queued members in admission order; the admitted executions' directives go out at their
 * meters' next check-in. Called under the campaign's lock, so two replicas never admit for one
 * campaign at once; executions a check-in holds are skipped this time.
 */
@Injectable()
export class CampaignAdmission {
  constructor(private readonly campaigns: CampaignsRepository) {}

  async admit(trx: Executor, campaign: CampaignRow, now: Date): Promise<number> {
    if (campaign.state !== 'RUNNING') return 0;
    const phases = await this.campaigns.phases(campaign.campaign_id, trx);
    const open = phases.find((p) => p.state === 'ACTIVE' || p.state === 'SOAKING');
    if (!open) return 0;
    const rollout = (campaign.body as OtaCampaignDefinition).rollout;
    const recent = await this.campaigns.admittedSince(
      trx,
      campaign.campaign_id,
      new Date(now.getTime() - ADMISSION_WINDOW_MS),
    );
    const counts = totalCounts(await this.campaigns.counts(campaign.campaign_id, trx));
    const all = Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0);
    const admissionCounts = {
      notified: all - (counts.QUEUED ?? 0),
      succeeded: (counts.SUCCEEDED ?? 0) + (counts.ALREADY_INSTALLED ?? 0),
    };
    const room = rollout.maxPerMinute - recent.length;
    if (room <= 0) return 0;
    // Room for the rate plus as many again held back by full gateways.
    const candidates = await this.campaigns.candidates(trx, campaign.campaign_id, open.phase, room * 2);
    if (candidates.length === 0) return 0;
    const gated = candidates.some((c) => c.gateway_id !== null);
    const result = admit({
      now,
      config: rollout,
      counts: admissionCounts,
      recent,
      inFlightByGateway: gated
        ? await this.campaigns.inFlightByGateway(trx, campaign.campaign_id)
        : new Map(),
      candidates: candidates.map((c) => ({ executionId: c.execution_id, gatewayId: c.gateway_id })),
    });
    return this.campaigns.markAdmitted(trx, result.admitted, now);
  }
}
