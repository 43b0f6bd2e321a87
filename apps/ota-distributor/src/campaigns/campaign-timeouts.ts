import { Injectable } from '@nestjs/common';
import {
  OTA_DEVICE_STATUS_V2,
  type OtaCampaignDefinition,
  type OtaExecutionState,
} from '@meterkeep/contracts';
import type { CampaignRow, Executor } from '../core/database';
import { ACTIVE_STATES } from '../executions/execution-states';
import { deviceStatusEvent } from '../executions/status-events';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { CampaignStatusFeed } from './campaign-status-feed';
import { CampaignsRepository } from './campaigns.repository';
import { SHADOW_PHASE, shadowTimedOut } from './domain/shadow';
import { isTimedOut } from './domain/timeouts-retries';

/**
 * Download and install timeouts (spec §6.6), by the ticker, under the campaign's lock (SKIP LOCKED:
 * one replica per campaign): executions whose stage began more than the campaign's timeout ago, as
 * the domain rule judges from the stage's entry (kept by a trigger, migration 0006), become TIMED_OUT
 * set-based (rows a meter's report holds are left for the next tick), with their status events; then
 * the abort rules are evaluated on each phase they were in, as for a meter's own outcome. A shadow run
 * open past its timeoutSeconds times out its unfinished twins the same way (which halts the campaign).
 */
@Injectable()
export class CampaignTimeouts {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly feed: CampaignStatusFeed,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
  ) {}

  async expire(campaignId: string, now: Date): Promise<number> {
    return this.transactions.run(async (trx) => {
      const campaign = await this.campaigns.lockOrSkip(trx, campaignId);
      if (!campaign) return 0;
      const body = campaign.body as OtaCampaignDefinition;
      if (body.shadowRun) await this.expireShadow(campaign, body.shadowRun.timeoutSeconds, now, trx);
      const policy = body.timeouts;
      const shortest = Math.min(policy.downloadMinutes, policy.installMinutes);
      const staged = await this.campaigns.staged(
        trx,
        campaignId,
        new Date(now.getTime() - shortest * 60_000),
      );
      const due = staged
        .filter((e) => isTimedOut(e.state, e.stage_entered_at, policy, now))
        .map((e) => e.execution_id);
      if (due.length === 0) return 0;
      return this.timeOut(trx, campaign, ['DOWNLOADING', 'INSTALLING', 'REBOOTING', 'CONFIRMING'], due, now);
    });
  }

  /**
   * A shadow run still open past its timeoutSeconds: its unfinished twins (even one never notified:
   * a twin that does not check in proves nothing) become TIMED_OUT, which fails the run.
   */
  private async expireShadow(campaign: CampaignRow, timeoutSeconds: number, now: Date, trx: Executor) {
    const shadow = (await this.campaigns.phases(campaign.campaign_id, trx)).find(
      (p) => p.phase === SHADOW_PHASE,
    );
    if (!shadow?.activated_at || (shadow.state !== 'ACTIVE' && shadow.state !== 'SOAKING')) return;
    if (!shadowTimedOut(shadow.activated_at, timeoutSeconds, now)) return;
    const ids = await this.campaigns.phaseExecutionIds(trx, campaign.campaign_id, SHADOW_PHASE);
    await this.timeOut(trx, campaign, ACTIVE_STATES, ids, now);
  }

  private async timeOut(
    trx: Executor,
    campaign: CampaignRow,
    from: readonly OtaExecutionState[],
    ids: readonly string[],
    now: Date,
  ): Promise<number> {
    const timedOut = await this.campaigns.bulkMove(trx, campaign.campaign_id, from, 'TIMED_OUT', now, {
      ids,
    });
    await this.outbox.enqueue(
      trx,
      OTA_DEVICE_STATUS_V2,
      timedOut.map((execution) => deviceStatusEvent(execution, campaign, now)),
    );
    let row = campaign;
    for (const phase of new Set(timedOut.map((e) => e.phase!)))
      row = await this.feed.evaluate(trx, row, phase, now);
    return timedOut.length;
  }
}
