import { Injectable } from '@nestjs/common';
import { OTA_CAMPAIGNS_V2, type OtaCampaignEventType, type OtaCampaignView } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { campaignEvent } from './campaign-events';
import { campaignView } from './campaign.view';
import { CampaignErrors } from './campaigns.errors';
import { CampaignsRepository } from './campaigns.repository';
import { CAMPAIGN_MACHINE } from './domain/state-machines';

export type CampaignDecision = 'submit' | 'approve' | 'deny';

const OUTCOME: Record<CampaignDecision, { event: OtaCampaignEventType; audit: string }> = {
  submit: { event: 'submitted', audit: 'ota.campaign-submitted' },
  approve: { event: 'approved', audit: 'ota.campaign-approved' },
  deny: { event: 'denied', audit: 'ota.campaign-denied' },
};

/**
 * Submit, approve or deny, as the campaign state machine allows (409 naming the current state
 * otherwise). Four eyes: the creator never approves or denies (403 SAME_ACTOR, audited as refused);
 * auditors never reach here (route roles). The row is locked so two decisions cannot both win.
 */
@Injectable()
export class DecideCampaignUseCase {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly audit: AuditLog,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, campaignId: string, decision: CampaignDecision): Promise<OtaCampaignView> {
    const now = new Date();
    const outcome = await this.transactions.run(async (trx) => {
      const current = await this.campaigns.lock(trx, caller.tenantId, campaignId);
      if (!current) throw CampaignErrors.campaignNotFound();
      const transition = CAMPAIGN_MACHINE.next(current.state, decision);
      if (!transition.ok) throw CampaignErrors.stateConflict(current.state, decision);
      if (decision !== 'submit' && current.created_by === caller.actor) {
        await this.audit.append(trx, caller.tenantId, [
          {
            action: OUTCOME[decision].audit,
            actor: caller.actor,
            subject: campaignId,
            outcome: 'refused',
            detail: { code: 'SAME_ACTOR' },
          },
        ]);
        return { refused: true as const };
      }
      const row = await this.campaigns.updateState(
        trx,
        campaignId,
        transition.to,
        decision === 'submit' ? { submittedBy: caller.actor } : { decidedBy: caller.actor },
        now,
      );
      await this.outbox.enqueue(trx, OTA_CAMPAIGNS_V2, [
        campaignEvent(row, OUTCOME[decision].event, now, { actor: caller.actor }),
      ]);
      await this.audit.append(trx, caller.tenantId, [
        {
          action: OUTCOME[decision].audit,
          actor: caller.actor,
          subject: campaignId,
          outcome: 'allowed',
          detail: { manifestDigest: row.manifest_digest, state: row.state },
        },
      ]);
      return { refused: false as const, row };
    });
    // The refusal's audit record commits; then the caller hears why.
    if (outcome.refused) throw CampaignErrors.sameActor();
    return campaignView(
      outcome.row,
      await this.campaigns.phases(campaignId),
      await this.campaigns.counts(campaignId),
    );
  }
}
