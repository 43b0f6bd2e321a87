import { randomUUID } from 'node:crypto';
import { type BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { OTA_CAMPAIGNS_V2, type OtaCampaignDefinition, type OtaCampaignV2Event } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { LOGGER } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { CampaignRow, Executor } from '../core/database';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { CampaignAdmission } from './campaign-admission';
import { campaignEvent, eventCounts } from './campaign-events';
import { CampaignStatusFeed } from './campaign-status-feed';
import { CampaignsRepository } from './campaigns.repository';
import { planMembership } from './domain/membership';
import { SHADOW_PHASE, fitTwins, shadowCoverage } from './domain/shadow';
import { CAMPAIGN_MACHINE } from './domain/state-machines';
import { TestPausePoints } from './test-pause-points';

/**
 * Plans a PLANNING campaign (spec §6.4, §6.5) in one transaction under its lock: the targets are read
 * from the registry projection, ordered by the domain's deterministic stratified membership (strata
 * gateway then hardware revision, as the projection holds them; meters without either share a null
 * stratum) and cut into the phases; each member gets a QUEUED execution of part 1 (the campaign's id is
 * its deployment's, so check-in, manifest, download URL, status and receipt serve it unchanged) and the
 * counters are set per phase. With a future startAt the campaign is SCHEDULED and the ticker opens
 * phase 1 then; otherwise it RUNS, phase 1 opens and a first admission pass lets directives out at the
 * rollout rate. `started` (or `scheduled`) and `phase-activated` go out through the outbox,
 * `ota.campaign-started` on the audit chain, naming who started it.
 *
 * The start request runs it and waits a while; the ticker sets it going, in the background so that
 * other campaigns' ticks do not wait minutes behind it, for any campaign still PLANNING that no one is
 * planning (a replica killed while planning: its transaction rolled back, nothing of it persisted),
 * so a plan is committed once whatever dies.
 */
@Injectable()
export class CampaignPlanner implements BeforeApplicationShutdown {
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly admission: CampaignAdmission,
    private readonly statusFeed: CampaignStatusFeed,
    private readonly audit: AuditLog,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
    private readonly pausePoints: TestPausePoints,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Plans the campaign, once per campaign at a time in this process. `wait` (a start request): waits
   * for the campaign's lock, held by a replica's ticker planning it; else (the ticker) passes by a
   * campaign another replica holds. Never rejects: a failure is logged and the ticker tries again.
   */
  plan(tenantId: string, campaignId: string, { wait }: { wait: boolean }): Promise<void> {
    let planning = this.inFlight.get(campaignId);
    if (!planning) {
      planning = this.transactions
        .run(async (trx) => {
          const campaign = wait
            ? await this.campaigns.lock(trx, tenantId, campaignId)
            : await this.campaigns.lockOrSkip(trx, campaignId);
          if (campaign) await this.planLocked(trx, campaign, new Date());
        })
        .catch((error: unknown) =>
          this.logger.error({ err: error, campaignId }, 'ota-distributor: campaign planning failed'),
        )
        .finally(() => this.inFlight.delete(campaignId));
      this.inFlight.set(campaignId, planning);
    }
    return planning;
  }

  /** A campaign locked by the caller: planned when it is PLANNING, else left as it is. */
  private async planLocked(trx: Executor, campaign: CampaignRow, now: Date): Promise<void> {
    if (campaign.state !== 'PLANNING') return;
    const campaignId = campaign.campaign_id;
    const actor = campaign.started_by ?? undefined;
    // Revoked since the start was accepted: never runs (halted as a revoked scheduled campaign is).
    if (await this.campaigns.manifestRevoked(trx, campaign.tenant_id, campaign.manifest_id)) {
      await this.statusFeed.haltRevoked(trx, campaign, now);
      return;
    }
    const body = campaign.body as OtaCampaignDefinition;
    const scheduled = body.startAt !== undefined && new Date(body.startAt).getTime() > now.getTime();
    const twins = body.shadowRun?.twins ?? [];
    const targets = await this.campaigns.targets(
      trx,
      campaign.tenant_id,
      campaign.class_id,
      body.target,
      twins,
    );
    await this.pausePoints.at('planning');
    if (body.shadowRun) {
      // The start checked the coverage; targets that changed since may hold a revision no twin covers.
      const { fit } = fitTwins(
        campaign.class_id,
        twins,
        await this.campaigns.twins(trx, campaign.tenant_id, twins),
      );
      const { missing } = shadowCoverage(
        targets.map((t) => t.hardware_revision),
        fit.map((t) => t.hardware_revision),
      );
      if (missing.length > 0) {
        await this.refuse(trx, campaign, missing, now);
        return;
      }
    }
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
    await this.campaigns.insertDeployment(trx, campaign, body, now);
    await this.campaigns.insertMembers(
      trx,
      campaign,
      plan.phases,
      randomUUID,
      now,
      (deviceId) => gateways.get(deviceId) ?? null,
    );
    // Twins outside any gateway budget: a few meters, and the gate must not wait behind the fleet's.
    if (twins.length > 0)
      await this.campaigns.insertMembers(trx, campaign, [twins], randomUUID, now, () => null, SHADOW_PHASE);
    const transition = CAMPAIGN_MACHINE.next(campaign.state, scheduled ? 'schedule' : 'start');
    if (!transition.ok) return;
    const row = await this.campaigns.setFields(trx, campaignId, { state: transition.to }, now);
    const counts = eventCounts({ QUEUED: targets.length }, targets.length);
    const events: OtaCampaignV2Event[] = scheduled
      ? [campaignEvent(row, 'scheduled', now, { ...(actor !== undefined && { actor }), counts })]
      : await this.openFirstPhase(trx, row, now, counts, actor);
    await this.outbox.enqueue(trx, OTA_CAMPAIGNS_V2, events);
    await this.audit.append(trx, campaign.tenant_id, [
      {
        action: 'ota.campaign-started',
        actor: actor ?? 'ota-distributor',
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

  /** Targets outgrew the shadow run while planning: back to APPROVED, nothing planned, on the audit chain. */
  private async refuse(trx: Executor, campaign: CampaignRow, missing: readonly (string | null)[], now: Date) {
    await this.campaigns.setFields(trx, campaign.campaign_id, { state: 'APPROVED' }, now);
    await this.audit.append(trx, campaign.tenant_id, [
      {
        action: 'ota.campaign-started',
        actor: campaign.started_by ?? 'ota-distributor',
        subject: campaign.campaign_id,
        outcome: 'refused',
        detail: {
          code: 'SHADOW_TWIN_MISSING',
          missingRevisions: missing.map((r) => r ?? 'unreported').join(','),
        },
      },
    ]);
  }

  /** Plans under way finish (or fail and roll back) before the pool closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()]);
  }
}
