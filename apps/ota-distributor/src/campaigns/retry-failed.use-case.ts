import { Injectable } from '@nestjs/common';
import { OTA_DEVICE_STATUS_V2, type OtaCampaignDefinition, type OtaCampaignView } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { deviceStatusEvent } from '../executions/status-events';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { campaignView } from './campaign.view';
import { CampaignErrors } from './campaigns.errors';
import { CampaignsRepository } from './campaigns.repository';
import { MAX_RETRIES } from './domain/timeouts-retries';

/**
 * An operator's retry-failed (RUNNING or PAUSED, 409 otherwise): the campaign's FAILED and TIMED_OUT
 * executions are QUEUED again under the same id with the next attempt, their directive withdrawn and
 * their admission undone (they go through the rate again), unless the device meanwhile has another
 * unfinished execution or the attempts the campaign's retry policy allows are spent (never more than
 * 10). Set-based, counters applied in one step; each re-queued execution's ota.device-status.v2 event.
 */
@Injectable()
export class RetryFailedUseCase {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly audit: AuditLog,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, campaignId: string): Promise<OtaCampaignView> {
    const now = new Date();
    const current = await this.campaigns.find(caller.tenantId, campaignId);
    if (!current) throw CampaignErrors.campaignNotFound();
    if (current.state !== 'RUNNING' && current.state !== 'PAUSED')
      throw CampaignErrors.stateConflict(current.state, 'retry-failed');
    const policy = (current.body as OtaCampaignDefinition).retry;
    await this.transactions.run(async (trx) => {
      const requeued = await this.campaigns.bulkMove(
        trx,
        campaignId,
        ['FAILED', 'TIMED_OUT'],
        'QUEUED',
        now,
        {
          maxAttempt: Math.min(policy.max, MAX_RETRIES),
        },
      );
      await this.outbox.enqueue(
        trx,
        OTA_DEVICE_STATUS_V2,
        requeued.map((execution) => deviceStatusEvent(execution, current, now)),
      );
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'ota.campaign-retry-failed',
          actor: caller.actor,
          subject: campaignId,
          outcome: 'allowed',
          detail: { requeued: requeued.length },
        },
      ]);
    });
    const row = (await this.campaigns.find(caller.tenantId, campaignId))!;
    return campaignView(
      row,
      await this.campaigns.phases(campaignId),
      await this.campaigns.counts(campaignId),
    );
  }
}
