import { Injectable } from '@nestjs/common';
import type { OtaCampaignView } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { campaignView } from './campaign.view';
import { CampaignErrors } from './campaigns.errors';
import { CampaignsRepository } from './campaigns.repository';
import { SHADOW_PHASE } from './domain/shadow';
import { PhaseAdvance } from './phase-advance';

/** Listed with the open phase: enough to act on, bounded whatever the fleet. */
export const OVERDUE_LISTED = 100;

/**
 * A campaign as every role reads it (spec §6.1): state, per-phase and total counters, halt reason;
 * the open phase also lists its meters overdue for check-in (spec §6.5), which its success
 * denominator leaves out, by the same rule phase advance applies.
 */
@Injectable()
export class GetCampaignUseCase {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly advance: PhaseAdvance,
  ) {}

  async execute(caller: Caller, campaignId: string): Promise<OtaCampaignView> {
    const row = await this.campaigns.find(caller.tenantId, campaignId);
    if (!row) throw CampaignErrors.campaignNotFound();
    const phases = await this.campaigns.phases(campaignId);
    const view = campaignView(row, phases, await this.campaigns.counts(campaignId));
    const open = phases.find((p) => p.state === 'ACTIVE' || p.state === 'SOAKING');
    // The shadow run's twins are no phase of the fleet: none is listed overdue (its timeout judges them).
    if (open?.activated_at && open.phase !== SHADOW_PHASE) {
      const overdue = await this.advance.overdue(undefined, row, open.phase, open.activated_at, new Date());
      const phase = view.phases.find((p) => p.phase === open.phase)!;
      phase.overdue = { count: overdue.length, deviceIds: overdue.slice(0, OVERDUE_LISTED) };
    }
    return view;
  }
}
