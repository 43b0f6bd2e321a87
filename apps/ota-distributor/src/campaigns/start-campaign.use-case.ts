import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  OTA_CAMPAIGNS_V2,
  type OtaCampaignDefinition,
  type OtaCampaignV2Event,
  type OtaCampaignView,
} from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { CampaignRow, Executor } from '../core/database';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { CampaignAdmission } from './campaign-admission';
import { campaignEvent, eventCounts } from './campaign-events';
import { campaignView } from './campaign.view';
import { CampaignErrors } from './campaigns.errors';
import { CampaignsRepository } from './campaigns.repository';
import { planMembership } from './domain/membership';
import { SHADOW_PHASE, fitTwins, shadowCoverage } from './domain/shadow';
import { CAMPAIGN_MACHINE } from './domain/state-machines';

/** Query filters on attributes the distributor's device projection does not hold yet. */
export const UNSUPPORTED_FILTERS = ['tags', 'regions'] as const;

/**
 * Starts an APPROVED campaign (spec §6.4, §6.5), in one transaction under the campaign's lock: the
 * targets are read from the registry projection, ordered by the domain's deterministic stratified
 * membership (strata gateway then hardware revision, as the projection holds them; meters without
 * either share a null stratum) and cut into the phases; each member gets a QUEUED execution of part 1 (the
 * campaign's id is its deployment's, so check-in, manifest, download URL, status and receipt serve it
 * unchanged) and the counters are set per phase. With a future startAt the campaign is SCHEDULED and
 * the ticker opens phase 1 at that time; otherwise it RUNS, phase 1 opens and a first admission pass
 * lets directives out at the rollout rate. `started` (or `scheduled`) and `phase-activated` go out
 * through the outbox, `ota.campaign-started` on the audit chain.
 */
@Injectable()
export class StartCampaignUseCase {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly admission: CampaignAdmission,
    private readonly audit: AuditLog,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, campaignId: string): Promise<OtaCampaignView> {
    const now = new Date();
    await this.transactions.run(async (trx) => {
      const current = await this.campaigns.lock(trx, caller.tenantId, campaignId);
      if (!current) throw CampaignErrors.campaignNotFound();
      const body = current.body as OtaCampaignDefinition;
      const scheduled = body.startAt !== undefined && new Date(body.startAt).getTime() > now.getTime();
      const transition = CAMPAIGN_MACHINE.next(current.state, scheduled ? 'schedule' : 'start');
      if (!transition.ok) throw CampaignErrors.stateConflict(current.state, 'start');
      // Revoked since approval: never started (a revocation halts only what already runs).
      if (await this.campaigns.manifestRevoked(trx, caller.tenantId, current.manifest_id))
        throw CampaignErrors.manifestRevoked();
      for (const filter of UNSUPPORTED_FILTERS)
        if (body.target.query?.[filter] !== undefined) throw CampaignErrors.targetUnsupported(filter);

      const twins = body.shadowRun?.twins ?? [];
      const twinRows = await this.shadowTwins(trx, current, twins);
      const targets = await this.campaigns.targets(
        trx,
        caller.tenantId,
        current.class_id,
        body.target,
        twins,
      );
      if (body.shadowRun) {
        const { missing } = shadowCoverage(
          targets.map((t) => t.hardware_revision),
          twinRows.map((t) => t.hardware_revision),
        );
        if (missing.length > 0) throw CampaignErrors.shadowTwinMissing(missing);
      }
      // Stratified by the gateway and the hardware revision (as the meter reported it) the projection holds.
      const plan = planMembership(
        campaignId,
        targets.map((t) => ({
          deviceId: t.device_id,
          gatewayId: t.gateway_id,
          hardwareRevision: t.hardware_revision,
        })),
        body.phases.map((p) => p.size),
      );
      const gateways = new Map(targets.map((t) => [t.device_id, t.gateway_id]));
      await this.campaigns.insertDeployment(trx, current, body, now);
      await this.campaigns.insertMembers(
        trx,
        current,
        plan.phases,
        randomUUID,
        now,
        (deviceId) => gateways.get(deviceId) ?? null,
      );
      // Twins outside any gateway budget: a few meters, and the gate must not wait behind the fleet's.
      if (twins.length > 0)
        await this.campaigns.insertMembers(trx, current, [twins], randomUUID, now, () => null, SHADOW_PHASE);
      const row = await this.campaigns.setFields(trx, campaignId, { state: transition.to }, now);
      const events: OtaCampaignV2Event[] = [];
      const counts = eventCounts({ QUEUED: targets.length }, targets.length);
      if (scheduled) {
        events.push(campaignEvent(row, 'scheduled', now, { actor: caller.actor, counts }));
      } else {
        events.push(...(await this.openFirstPhase(trx, row, now, counts, caller.actor)));
      }
      await this.outbox.enqueue(trx, OTA_CAMPAIGNS_V2, events);
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'ota.campaign-started',
          actor: caller.actor,
          subject: campaignId,
          outcome: 'allowed',
          detail: {
            state: row.state,
            targets: targets.length,
            phaseTargets: plan.phases.map((p) => p.length).join(','),
            explicitNotTargeted: plan.explicitNotTargeted.length,
            ...(body.shadowRun && { shadowTwins: twins.length }),
          },
        },
      ]);
      if (!scheduled) await this.admission.admit(trx, row, now);
    });
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

  /**
   * RUNNING now: phase 1 opens, or the shadow run (phase 0) first when there is one: phase 1 then
   * opens when every twin succeeded (also the ticker's start of a SCHEDULED campaign).
   */
  async openFirstPhase(
    trx: Executor,
    row: CampaignRow,
    now: Date,
    counts: OtaCampaignV2Event['counts'],
    actor?: string,
  ): Promise<OtaCampaignV2Event[]> {
    const extra = { ...(counts && { counts }), ...(actor !== undefined && { actor }) };
    if ((row.body as OtaCampaignDefinition).shadowRun) {
      await this.campaigns.setPhase(trx, row.campaign_id, SHADOW_PHASE, {
        state: 'ACTIVE',
        activatedAt: now,
      });
      return [campaignEvent(row, 'started', now, extra)];
    }
    await this.campaigns.setPhase(trx, row.campaign_id, 1, { state: 'ACTIVE', activatedAt: now });
    return [
      campaignEvent(row, 'started', now, extra),
      campaignEvent(row, 'phase-activated', now, { ...extra, phase: 1 }),
    ];
  }
}
