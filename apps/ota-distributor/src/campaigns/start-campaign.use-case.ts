import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable } from '@nestjs/common';
import type { OtaCampaignDefinition, OtaCampaignView } from '@meterkeep/contracts';
import { CONFIG, type Caller } from '@meterkeep/service-runtime';
import type { OtaDistributorConfig } from '../config';
import type { CampaignRow, Executor } from '../core/database';
import { Transactions } from '../outbox/transactions';
import { CampaignPlanner } from './campaign-planner';
import { campaignView } from './campaign.view';
import { CampaignErrors } from './campaigns.errors';
import { CampaignsRepository } from './campaigns.repository';
import { fitTwins, shadowCoverage } from './domain/shadow';
import { CAMPAIGN_MACHINE } from './domain/state-machines';

/** Query filters on attributes the distributor's device projection does not hold yet. */
export const UNSUPPORTED_FILTERS = ['tags', 'regions'] as const;

/**
 * Starts an APPROVED campaign (spec §6.4, §6.5): under the campaign's lock, what would refuse it is
 * checked (state, a revoked manifest, filters the projection cannot apply, the shadow run's twins and
 * their coverage of the targets' hardware revisions), then it commits PLANNING with who started it. The
 * planner (campaign-planner.ts) then persists the plan; the request waits for it up to
 * OTA_START_WAIT_MS and answers the campaign as it is then: RUNNING or SCHEDULED, or still PLANNING
 * (the controller answers 202), the ticker finishing what the request did not wait for.
 */
@Injectable()
export class StartCampaignUseCase {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly planner: CampaignPlanner,
    private readonly transactions: Transactions,
    @Inject(CONFIG) private readonly config: Pick<OtaDistributorConfig, 'OTA_START_WAIT_MS'>,
  ) {}

  async execute(caller: Caller, campaignId: string): Promise<OtaCampaignView> {
    const now = new Date();
    await this.transactions.run(async (trx) => {
      const current = await this.campaigns.lock(trx, caller.tenantId, campaignId);
      if (!current) throw CampaignErrors.campaignNotFound();
      const body = current.body as OtaCampaignDefinition;
      const transition = CAMPAIGN_MACHINE.next(current.state, 'plan');
      if (!transition.ok) throw CampaignErrors.stateConflict(current.state, 'start');
      // Revoked since approval: never started (a revocation halts only what already runs).
      if (await this.campaigns.manifestRevoked(trx, caller.tenantId, current.manifest_id))
        throw CampaignErrors.manifestRevoked();
      for (const filter of UNSUPPORTED_FILTERS)
        if (body.target.query?.[filter] !== undefined) throw CampaignErrors.targetUnsupported(filter);
      if (body.shadowRun) {
        const twins = body.shadowRun.twins;
        const twinRows = await this.shadowTwins(trx, current, twins);
        const revisions = await this.campaigns.targetRevisions(
          trx,
          caller.tenantId,
          current.class_id,
          body.target,
          twins,
        );
        const { missing } = shadowCoverage(
          revisions,
          twinRows.map((t) => t.hardware_revision),
        );
        if (missing.length > 0) throw CampaignErrors.shadowTwinMissing(missing);
      }
      await this.campaigns.setFields(trx, campaignId, { state: transition.to, startedBy: caller.actor }, now);
    });
    if (this.config.OTA_START_WAIT_MS > 0)
      await Promise.race([
        this.planner.plan(caller.tenantId, campaignId, { wait: true }),
        sleep(this.config.OTA_START_WAIT_MS, undefined, { ref: false }),
      ]);
    else void this.planner.plan(caller.tenantId, campaignId, { wait: true });
    const row = (await this.campaigns.find(caller.tenantId, campaignId))!;
    return campaignView(
      row,
      await this.campaigns.phases(campaignId),
      await this.campaigns.counts(campaignId),
    );
  }

  /**
   * The twins a shadow run names, as the projection holds them now: each an ACTIVE meter of the
   * tenant and class (else 422, another tenant's answering as unknown) with no unfinished execution
   * (else 409: its directive would wait behind the other).
   */
  private async shadowTwins(trx: Executor, campaign: CampaignRow, twins: readonly string[]) {
    const rows = await this.campaigns.twins(trx, campaign.tenant_id, twins);
    const { fit, unknown } = fitTwins(campaign.class_id, twins, rows);
    if (unknown.length > 0) throw CampaignErrors.shadowTwinUnknown(unknown);
    const busy = fit.filter((t) => t.busy).map((t) => t.device_id);
    if (busy.length > 0) throw CampaignErrors.shadowTwinBusy(busy);
    return fit;
  }
}
