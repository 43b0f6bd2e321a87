import { Injectable } from '@nestjs/common';
import { OTA_CAMPAIGNS_V2, type OtaCampaignV2Event } from '@meterkeep/contracts';
import type { CampaignRow, Executor } from '../core/database';
import { OutboxRepository } from '../outbox/outbox.repository';
import { campaignEvent, eventCounts } from './campaign-events';
import { CampaignsRepository, totalCounts } from './campaigns.repository';
import { type AdvanceDecision, decideAdvance } from './domain/advance';

/**
 * Phase advance (spec §6.5) applied under the campaign's lock: the domain rule decides from the kept
 * counters (threshold over the phase's targets, soak from its activation); an ACTIVE phase whose
 * threshold is met and soak runs becomes SOAKING; an advance passes the phase and opens the next, or
 * completes the campaign after the last, each with its event. Overdue meters: the distributor does
 * not keep a last check-in per meter yet, so none is excluded from the denominator.
 */
@Injectable()
export class PhaseAdvance {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly outbox: OutboxRepository,
  ) {}

  async advance(
    trx: Executor,
    campaign: CampaignRow,
    options: { explicit: boolean; actor?: string },
    now: Date,
  ): Promise<{ row: CampaignRow; decision: AdvanceDecision | null }> {
    const phases = await this.campaigns.phases(campaign.campaign_id, trx);
    const open = phases.find((p) => p.state === 'ACTIVE' || p.state === 'SOAKING');
    if (!open || !open.activated_at) return { row: campaign, decision: null };
    const counts = await this.campaigns.counts(campaign.campaign_id, trx);
    const phaseCounts = counts.get(open.phase) ?? {};
    const decision = decideAdvance({
      campaignState: campaign.state,
      phase: {
        state: open.state,
        activatedAt: open.activated_at,
        successThresholdPercent: Number(open.success_threshold_percent),
        minSoakMinutes: open.min_soak_minutes,
        targets: open.targets,
        succeeded: (phaseCounts.SUCCEEDED ?? 0) + (phaseCounts.ALREADY_INSTALLED ?? 0),
        overdue: [],
      },
      isLastPhase: open.phase === phases.length,
      explicit: options.explicit,
      now,
    });
    if (!decision.advance) {
      if (decision.thresholdMet && open.state === 'ACTIVE' && decision.blockedBy === 'SOAKING')
        await this.campaigns.setPhase(trx, campaign.campaign_id, open.phase, { state: 'SOAKING' });
      return { row: campaign, decision };
    }
    const targets = phases.reduce((sum, p) => sum + p.targets, 0);
    const extra = {
      counts: eventCounts(totalCounts(counts), targets),
      ...(options.actor !== undefined && { actor: options.actor }),
    };
    const events: OtaCampaignV2Event[] = [];
    await this.campaigns.setPhase(trx, campaign.campaign_id, open.phase, {
      state: 'PASSED',
      finishedAt: now,
    });
    events.push(campaignEvent(campaign, 'phase-passed', now, { ...extra, phase: open.phase }));
    let row = campaign;
    if (decision.next === 'activate-next-phase') {
      const next = open.phase + 1;
      await this.campaigns.setPhase(trx, campaign.campaign_id, next, { state: 'ACTIVE', activatedAt: now });
      events.push(campaignEvent(campaign, 'phase-activated', now, { ...extra, phase: next }));
    } else {
      row = await this.campaigns.setFields(trx, campaign.campaign_id, { state: 'COMPLETED' }, now);
      events.push(campaignEvent(row, 'completed', now, extra));
    }
    await this.outbox.enqueue(trx, OTA_CAMPAIGNS_V2, events);
    return { row, decision };
  }
}
