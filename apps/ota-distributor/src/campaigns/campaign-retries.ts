import { Injectable } from '@nestjs/common';
import { OTA_DEVICE_STATUS_V2, type OtaCampaignDefinition } from '@meterkeep/contracts';
import { deviceStatusEvent } from '../executions/status-events';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { CampaignsRepository } from './campaigns.repository';
import { MAX_RETRIES, dueRetries } from './domain/timeouts-retries';

/**
 * Automatic retries (spec §6.6), by the ticker, under the campaign's lock (SKIP LOCKED: one replica
 * per campaign), while it runs or is paused: a FAILED or TIMED_OUT execution whose failure code the
 * campaign's retry policy names, with attempts left, is re-queued under the same id with the next
 * attempt once its backoff (doubling per retry) has run from the failure, as the domain rule decides;
 * set-based, counters applied in the same statement's transaction, each with its
 * ota.device-status.v2 event. Admission then lets it out again at the rollout rate.
 */
@Injectable()
export class CampaignRetries {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
  ) {}

  async requeueDue(campaignId: string, now: Date): Promise<number> {
    return this.transactions.run(async (trx) => {
      const campaign = await this.campaigns.lockOrSkip(trx, campaignId);
      if (!campaign || (campaign.state !== 'RUNNING' && campaign.state !== 'PAUSED')) return 0;
      const policy = (campaign.body as OtaCampaignDefinition).retry;
      const max = Math.min(policy.max, MAX_RETRIES);
      if (max === 0 || policy.codes.length === 0) return 0;
      const failed = await this.campaigns.retryCandidates(
        trx,
        campaignId,
        max,
        new Date(now.getTime() - policy.backoffMinutes * 60_000),
        policy.codes,
      );
      const due = dueRetries(
        policy,
        failed.map((e) => ({
          executionId: e.execution_id,
          state: e.state,
          failureCode: e.failure_code,
          attempt: e.attempt,
          failedAt: e.stage_entered_at,
        })),
        now,
      );
      if (due.length === 0) return 0;
      const requeued = await this.campaigns.bulkMove(
        trx,
        campaignId,
        ['FAILED', 'TIMED_OUT'],
        'QUEUED',
        now,
        {
          ids: due,
          maxAttempt: max,
        },
      );
      await this.outbox.enqueue(
        trx,
        OTA_DEVICE_STATUS_V2,
        requeued.map((execution) => deviceStatusEvent(execution, campaign, now)),
      );
      return requeued.length;
    });
  }
}
