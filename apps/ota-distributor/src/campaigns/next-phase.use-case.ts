import { Injectable } from '@nestjs/common';
import type { OtaCampaignView } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { Transactions } from '../outbox/transactions';
import { CampaignAdmission } from './campaign-admission';
import { campaignView } from './campaign.view';
import { CampaignErrors } from './campaigns.errors';
import { CampaignsRepository } from './campaigns.repository';
import { PhaseAdvance } from './phase-advance';

/**
 * An operator's next-phase (hawkBit triggerNextGroup): the open phase passes without its threshold and
 * soak and the next opens (or the campaign completes after the last); only a RUNNING campaign with an
 * open phase (409 otherwise). Audited `ota.campaign-next-phase`.
 */
@Injectable()
export class NextPhaseUseCase {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly advance: PhaseAdvance,
    private readonly admission: CampaignAdmission,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, campaignId: string): Promise<OtaCampaignView> {
    const now = new Date();
    await this.transactions.run(async (trx) => {
      const current = await this.campaigns.lock(trx, caller.tenantId, campaignId);
      if (!current) throw CampaignErrors.campaignNotFound();
      const { row, decision } = await this.advance.advance(
        trx,
        current,
        { explicit: true, actor: caller.actor },
        now,
      );
      if (decision && !decision.advance && decision.blockedBy === 'SHADOW_PENDING')
        throw CampaignErrors.shadowPending();
      if (!decision?.advance) throw CampaignErrors.stateConflict(current.state, 'open the next phase of');
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'ota.campaign-next-phase',
          actor: caller.actor,
          subject: campaignId,
          outcome: 'allowed',
          detail: { next: decision.next, state: row.state },
        },
      ]);
      await this.admission.admit(trx, row, now);
    });
    const row = (await this.campaigns.find(caller.tenantId, campaignId))!;
    return campaignView(
      row,
      await this.campaigns.phases(campaignId),
      await this.campaigns.counts(campaignId),
    );
  }
}
