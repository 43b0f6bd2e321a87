import { Injectable } from '@nestjs/common';
import {
  OTA_CAMPAIGNS_V2,
  type OtaCampaignCancel,
  type OtaCampaignEventType,
  type OtaCampaignResume,
  type OtaCampaignView,
} from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { CampaignAdmission } from './campaign-admission';
import { CampaignCancellation } from './campaign-cancellation';
import { campaignEvent } from './campaign-events';
import { campaignView } from './campaign.view';
import { CampaignErrors } from './campaigns.errors';
import { CampaignsRepository } from './campaigns.repository';
import { CAMPAIGN_MACHINE } from './domain/state-machines';

export type CampaignControl =
  | { action: 'pause' }
  | ({ action: 'resume' } & OtaCampaignResume)
  | ({ action: 'cancel' } & OtaCampaignCancel);

const OUTCOME: Record<CampaignControl['action'], { event: OtaCampaignEventType; audit: string }> = {
  pause: { event: 'paused', audit: 'ota.campaign-paused' },
  resume: { event: 'resumed', audit: 'ota.campaign-resumed' },
  cancel: { event: 'cancelling', audit: 'ota.campaign-cancelling' },
};

/**
 * Pause, resume and cancel, as the campaign state machine allows (409 naming the current state):
 * pause stops admission and first directives; resume of a HALTED campaign needs the operator's
 * acknowledgement (422 HALT_NOT_ACKNOWLEDGED), never when its manifest was revoked (409
 * MANIFEST_REVOKED), and lets admission go on; cancel records its mode and
 * hands over to CampaignCancellation (queued executions at once, notified ones at their next
 * check-in, CANCELLED once none is unfinished). Each with its event and audit record.
 */
@Injectable()
export class ControlCampaignUseCase {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly admission: CampaignAdmission,
    private readonly cancellation: CampaignCancellation,
    private readonly audit: AuditLog,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, campaignId: string, control: CampaignControl): Promise<OtaCampaignView> {
    const now = new Date();
    const { action } = control;
    await this.transactions.run(async (trx) => {
      const current = await this.campaigns.lock(trx, caller.tenantId, campaignId);
      if (!current) throw CampaignErrors.campaignNotFound();
      const transition = CAMPAIGN_MACHINE.next(current.state, action);
      if (!transition.ok) throw CampaignErrors.stateConflict(current.state, action);
      if (control.action === 'resume' && current.state === 'HALTED') {
        // A revoked manifest is never sent again, whoever acknowledges it.
        if ((current.halt_reason as { code?: string } | null)?.code === 'MANIFEST_REVOKED')
          throw CampaignErrors.manifestRevoked();
        if ((current.halt_reason as { code?: string } | null)?.code === 'SHADOW_FAILED')
          throw CampaignErrors.shadowFailed();
        if (!control.acknowledgeHalt) throw CampaignErrors.haltNotAcknowledged();
      }
      const row = await this.campaigns.setFields(
        trx,
        campaignId,
        { state: transition.to, ...(control.action === 'cancel' && { cancelMode: control.mode }) },
        now,
      );
      await this.outbox.enqueue(trx, OTA_CAMPAIGNS_V2, [
        campaignEvent(row, OUTCOME[action].event, now, {
          actor: caller.actor,
          ...(control.action === 'cancel' && { cancelMode: control.mode }),
        }),
      ]);
      await this.audit.append(trx, caller.tenantId, [
        {
          action: OUTCOME[action].audit,
          actor: caller.actor,
          subject: campaignId,
          outcome: 'allowed',
          detail: {
            from: current.state,
            state: row.state,
            ...(control.action === 'cancel' && { mode: control.mode }),
            ...(control.action === 'resume' && { acknowledgedHalt: current.state === 'HALTED' }),
          },
        },
      ]);
      if (row.state === 'RUNNING') await this.admission.admit(trx, row, now);
    });
    if (action === 'cancel') await this.cancellation.proceed(campaignId);
    const row = (await this.campaigns.find(caller.tenantId, campaignId))!;
    return campaignView(
      row,
      await this.campaigns.phases(campaignId),
      await this.campaigns.counts(campaignId),
    );
  }
}
