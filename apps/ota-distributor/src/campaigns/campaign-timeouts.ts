import { Injectable } from '@nestjs/common';
import { OTA_DEVICE_STATUS_V2, type OtaCampaignDefinition } from '@meterkeep/contracts';
import { deviceStatusEvent } from '../executions/status-events';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { CampaignStatusFeed } from './campaign-status-feed';
import { CampaignsRepository } from './campaigns.repository';
import { isTimedOut } from './domain/timeouts-retries';

/**
 * Download and install timeouts (spec §6.6), by the ticker, under the campaign's lock (SKIP LOCKED:
 * one replica per campaign): executions whose stage began more than the campaign's timeout ago, as
 * the domain rule judges from the stage's entry (kept by a trigger, migration 0006), become TIMED_OUT
 * set-based (rows a meter's report holds are left for the next tick), with their status events; then
 * the abort rules are evaluated on each phase they were in, as for a meter's own outcome.
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
      const policy = (campaign.body as OtaCampaignDefinition).timeouts;
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
      const timedOut = await this.campaigns.bulkMove(
        trx,
        campaignId,
        ['DOWNLOADING', 'INSTALLING', 'REBOOTING', 'CONFIRMING'],
        'TIMED_OUT',
        now,
        { ids: due },
      );
      await this.outbox.enqueue(
        trx,
        OTA_DEVICE_STATUS_V2,
        timedOut.map((execution) => deviceStatusEvent(execution, campaign, now)),
      );
      let row = campaign;
      for (const phase of new Set(timedOut.map((e) => e.phase!)))
        row = await this.feed.evaluate(trx, row, phase, now);
      return timedOut.length;
    });
  }
}
