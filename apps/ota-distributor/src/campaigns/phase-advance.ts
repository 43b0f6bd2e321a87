import { Inject, Injectable } from '@nestjs/common';
import { OTA_CAMPAIGNS_V2, type OtaCampaignV2Event } from '@meterkeep/contracts';
import { CONFIG } from '@meterkeep/service-runtime';
import type { OtaDistributorConfig } from '../config';
import type { CampaignRow, Executor } from '../core/database';
import { OutboxRepository } from '../outbox/outbox.repository';
import { ACTIVE_STATES } from '../executions/execution-states';
import { campaignEvent, eventCounts } from './campaign-events';
import { CampaignsRepository, fleetTargets, totalCounts } from './campaigns.repository';
import {
  type AdvanceDecision,
  type AdvanceInput,
  checkInRecordSeconds,
  decideAdvance,
  overdueMembers,
} from './domain/advance';
import { SHADOW_PHASE } from './domain/shadow';
import { TestPausePoints } from './test-pause-points';

/**
 * Phase advance (spec §6.5) applied under the campaign's lock: the domain rule decides from the kept
 * counters (threshold over the phase's targets, soak from its activation); an ACTIVE phase whose
 * threshold is met and soak runs becomes SOAKING; an advance passes the phase and opens the next, or
 * completes the campaign after the last, each with its event. When the threshold is unmet, meters
 * overdue for check-in (3 poll intervals plus the age a coarse check-in record may have) leave the
 * denominator, as the domain rule judges them from the unfinished members' last check-ins.
 */
@Injectable()
export class PhaseAdvance {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly outbox: OutboxRepository,
    private readonly pausePoints: TestPausePoints,
    @Inject(CONFIG) private readonly config: Pick<OtaDistributorConfig, 'OTA_POLL_SECONDS'>,
  ) {}

  /** The open phase's overdue members (unfinished, silent too long), by the domain rule. */
  async overdue(
    executor: Executor | undefined,
    campaign: Pick<CampaignRow, 'campaign_id' | 'tenant_id'>,
    phase: number,
    activatedAt: Date,
    now: Date,
  ): Promise<string[]> {
    const poll = this.config.OTA_POLL_SECONDS;
    const slack = checkInRecordSeconds(poll);
    // A meter is judged from the phase's opening at the earliest: none is overdue before this.
    if (now.getTime() - activatedAt.getTime() <= (3 * poll + slack) * 1000) return [];
    const silent = await this.campaigns.silentMembers(
      executor ?? this.campaigns.reader,
      campaign,
      phase,
      new Date(now.getTime() - (3 * poll + slack) * 1000),
    );
    return overdueMembers(
      silent.map((m) => ({ deviceId: m.device_id, finished: false, lastCheckInAt: m.last_check_in_at })),
      activatedAt,
      poll,
      now,
      slack,
    );
  }

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
    const input: AdvanceInput = {
      campaignState: campaign.state,
      phase: {
        state: open.state,
        activatedAt: open.activated_at,
        successThresholdPercent: Number(open.success_threshold_percent),
        minSoakMinutes: open.min_soak_minutes,
        targets: open.targets,
        succeeded: (phaseCounts.SUCCEEDED ?? 0) + (phaseCounts.ALREADY_INSTALLED ?? 0),
        unfinished: ACTIVE_STATES.reduce((sum, state) => sum + (phaseCounts[state] ?? 0), 0),
        overdue: [],
        ...(open.phase === SHADOW_PHASE && { shadowCounts: phaseCounts }),
      },
      isLastPhase: open.phase === Math.max(...phases.map((p) => p.phase)),
      explicit: options.explicit,
      now,
    };
    let decision = decideAdvance(input);
    // Overdue meters are read only when they could matter: the threshold unmet over every target, or
    // the last phase waiting for its unfinished meters.
    if (
      !decision.advance &&
      (decision.blockedBy === 'THRESHOLD_UNMET' || decision.blockedBy === 'LAST_PHASE_UNFINISHED')
    ) {
      const overdue = await this.overdue(trx, campaign, open.phase, open.activated_at, now);
      if (overdue.length > 0) decision = decideAdvance({ ...input, phase: { ...input.phase, overdue } });
    }
    if (!decision.advance) {
      if (decision.thresholdMet && open.state === 'ACTIVE' && decision.blockedBy === 'SOAKING')
        await this.campaigns.setPhase(trx, campaign.campaign_id, open.phase, { state: 'SOAKING' });
      return { row: campaign, decision };
    }
    const targets = fleetTargets(phases);
    const extra = {
      counts: eventCounts(totalCounts(counts), targets),
      ...(options.actor !== undefined && { actor: options.actor }),
    };
    const events: OtaCampaignV2Event[] = [];
    await this.campaigns.setPhase(trx, campaign.campaign_id, open.phase, {
      state: 'PASSED',
      finishedAt: now,
    });
    // The shadow run is no phase of the fleet: its pass rides on phase 1's activation.
    const shadow =
      open.phase === SHADOW_PHASE
        ? { outcome: 'passed' as const, twins: open.targets, succeeded: open.targets, failed: 0 }
        : undefined;
    if (!shadow) events.push(campaignEvent(campaign, 'phase-passed', now, { ...extra, phase: open.phase }));
    let row = campaign;
    if (decision.next === 'activate-next-phase') {
      const next = open.phase + 1;
      await this.campaigns.setPhase(trx, campaign.campaign_id, next, { state: 'ACTIVE', activatedAt: now });
      events.push(
        campaignEvent(campaign, 'phase-activated', now, { ...extra, phase: next, ...(shadow && { shadow }) }),
      );
    } else {
      row = await this.campaigns.setFields(trx, campaign.campaign_id, { state: 'COMPLETED' }, now);
      events.push(campaignEvent(row, 'completed', now, extra));
    }
    await this.outbox.enqueue(trx, OTA_CAMPAIGNS_V2, events);
    await this.pausePoints.at('phase-advance');
    return { row, decision };
  }
}
