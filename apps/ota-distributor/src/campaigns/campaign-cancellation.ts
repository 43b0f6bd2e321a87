import { Injectable } from '@nestjs/common';
import { OTA_CAMPAIGNS_V2, OTA_DEVICE_STATUS_V2 } from '@meterkeep/contracts';
import { AuditLog } from '../audit/audit-log';
import { ACTIVE_STATES } from '../executions/execution-states';
import { deviceStatusEvent } from '../executions/status-events';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { campaignEvent, eventCounts } from './campaign-events';
import { CampaignsRepository, fleetTargets, totalCounts } from './campaigns.repository';

/**
 * The work of a CANCELLING campaign (spec §6.6): its QUEUED executions were never seen by a meter, so
 * they are cancelled at once, set-based (without the campaign's lock, skipping rows a check-in holds:
 * the next pass takes them); notified ones are cancelled at their meter's next check-in as the mode
 * says; installs finish. Once no execution is unfinished the campaign is CANCELLED (`cancelled`,
 * `ota.campaign-cancelled`), under its lock, by whichever replica gets it.
 */
@Injectable()
export class CampaignCancellation {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly audit: AuditLog,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
  ) {}

  async proceed(campaignId: string): Promise<void> {
    const now = new Date();
    await this.transactions.run(async (trx) => {
      const cancelled = await this.campaigns.bulkMove(trx, campaignId, ['QUEUED'], 'CANCELLED', now);
      if (cancelled.length === 0) return;
      const campaign = await this.campaigns.find(cancelled[0]!.tenant_id, campaignId, trx);
      await this.outbox.enqueue(
        trx,
        OTA_DEVICE_STATUS_V2,
        cancelled.map((execution) => deviceStatusEvent(execution, campaign!, now)),
      );
    });
    await this.transactions.run(async (trx) => {
      const campaign = await this.campaigns.lockOrSkip(trx, campaignId);
      if (campaign?.state !== 'CANCELLING') return;
      const counts = totalCounts(await this.campaigns.counts(campaignId, trx));
      if (ACTIVE_STATES.some((state) => (counts[state] ?? 0) > 0)) return;
      const row = await this.campaigns.setFields(trx, campaignId, { state: 'CANCELLED' }, now);
      const phases = await this.campaigns.phases(campaignId, trx);
      const targets = fleetTargets(phases);
      await this.outbox.enqueue(trx, OTA_CAMPAIGNS_V2, [
        campaignEvent(row, 'cancelled', now, {
          counts: eventCounts(counts, targets),
          ...(row.cancel_mode && { cancelMode: row.cancel_mode }),
        }),
      ]);
      await this.audit.append(trx, row.tenant_id, [
        {
          action: 'ota.campaign-cancelled',
          actor: 'ota-distributor',
          subject: campaignId,
          outcome: 'allowed',
          detail: { mode: row.cancel_mode ?? 'graceful', targets },
        },
      ]);
    });
  }
}
