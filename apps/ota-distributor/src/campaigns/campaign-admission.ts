import { Injectable } from '@nestjs/common';
import type { OtaCampaignDefinition } from '@meterkeep/contracts';
import type { CampaignRow, Executor } from '../core/database';
import { CampaignsRepository, totalCounts } from './campaigns.repository';
import {
  ADMISSION_WINDOW_MS,
  BYTES_WINDOW_MS,
  type GatewayBytes,
  type GatewayLimit,
  admit,
  closedGateways,
  currentRate,
  gatewayLimit,
} from './domain/admission';

/**
 * Admission of a RUNNING campaign's open phase (spec §6.5, §7.5): the domain rule decides from the
 * admissions of the last 60 s and, per gateway, the unfinished admitted executions and the bytes
 * admitted in the last hour (all read from the admissions log, so a retried execution's earlier
 * admission still counts), over the queued members in admission order; members of a gateway that can
 * take no one now are not even read, so a full gateway never starves the others. The admitted
 * executions' directives go out at their meters' next check-in. Called under the campaign's lock, so
 * two replicas never admit for one campaign at once; executions a check-in holds are skipped this time.
 */
@Injectable()
export class CampaignAdmission {
  constructor(private readonly campaigns: CampaignsRepository) {}

  async admit(trx: Executor, campaign: CampaignRow, now: Date): Promise<number> {
    if (campaign.state !== 'RUNNING') return 0;
    const phases = await this.campaigns.phases(campaign.campaign_id, trx);
    const open = phases.find((p) => p.state === 'ACTIVE' || p.state === 'SOAKING');
    if (!open) return 0;
    const rollout = (campaign.body as OtaCampaignDefinition).rollout;
    const recent = await this.campaigns.admittedSince(
      trx,
      campaign.campaign_id,
      new Date(now.getTime() - ADMISSION_WINDOW_MS),
    );
    const counts = totalCounts(await this.campaigns.counts(campaign.campaign_id, trx));
    const all = Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0);
    const admissionCounts = {
      notified: all - (counts.QUEUED ?? 0),
      succeeded: (counts.SUCCEEDED ?? 0) + (counts.ALREADY_INSTALLED ?? 0),
    };
    const room = currentRate(rollout, admissionCounts) - recent.length;
    if (room <= 0) return 0;
    const bytesPerDevice = await this.campaigns.bytesPerDevice(trx, campaign.tenant_id, campaign.manifest_id);
    let inFlightByGateway = new Map<string, number>();
    let gatewayBytes = new Map<string, GatewayBytes[]>();
    let gatewayLimits = new Map<string, GatewayLimit>();
    if (await this.campaigns.hasGatewayMembers(trx, campaign.campaign_id)) {
      ({ inFlightByGateway, gatewayBytes, gatewayLimits } = await this.gatewayLoad(trx, campaign, now));
    }
    const closed = closedGateways({
      now,
      config: rollout,
      gatewayLimits,
      inFlightByGateway,
      gatewayBytes,
      bytesPerDevice,
    });
    // Room for the rate plus as many again held back by a gateway filling up during this pass.
    const candidates = await this.campaigns.candidates(
      trx,
      campaign.campaign_id,
      open.phase,
      room * 2,
      closed,
    );
    if (candidates.length === 0) return 0;
    const result = admit({
      now,
      config: rollout,
      gatewayLimits,
      counts: admissionCounts,
      recent,
      inFlightByGateway,
      gatewayBytes,
      candidates: candidates.map((c) => ({
        executionId: c.execution_id,
        gatewayId: c.gateway_id,
        bytes: bytesPerDevice,
      })),
    });
    const admitted = new Set(await this.campaigns.markAdmitted(trx, result.admitted, now));
    await this.campaigns.logAdmissions(
      trx,
      campaign.campaign_id,
      candidates
        .filter((c) => admitted.has(c.execution_id))
        .map((c) => ({ executionId: c.execution_id, gatewayId: c.gateway_id, bytes: bytesPerDevice })),
      now,
      new Date(now.getTime() - BYTES_WINDOW_MS),
    );
    return admitted.size;
  }

  /**
   * The load of the gateways this campaign has members behind, over every campaign of the tenant
   * with meters queued or in flight behind them (a gateway is one backhaul whoever loads it), and the
   * strictest of those campaigns' limits there. Taken under the tenant's gateway-admission lock, held
   * to the commit, so two campaigns' admissions see each other's.
   */
  private async gatewayLoad(trx: Executor, campaign: CampaignRow, now: Date) {
    await this.campaigns.lockGatewayAdmissions(trx, campaign.tenant_id);
    const sharers = await this.campaigns.gatewaySharers(trx, campaign);
    const settings = new Map(sharers.map((s) => [s.campaign_id, s.rollout]));
    const shares = await this.campaigns.gatewayShares(trx, campaign.campaign_id, [...settings.keys()]);
    const inFlightByGateway = new Map<string, number>();
    const gatewayLimits = new Map<string, GatewayLimit>();
    for (const share of shares) {
      inFlightByGateway.set(
        share.gateway_id,
        (inFlightByGateway.get(share.gateway_id) ?? 0) + share.in_flight,
      );
      if (share.campaign_id === campaign.campaign_id) continue;
      const other = settings.get(share.campaign_id)!;
      const limit = gatewayLimit({ maxPerMinute: 1, ...other }, gatewayLimits, share.gateway_id);
      gatewayLimits.set(share.gateway_id, limit);
    }
    const rollout = (campaign.body as OtaCampaignDefinition).rollout;
    const budgeted = shares
      .filter((s) => s.campaign_id === campaign.campaign_id)
      .map((s) => s.gateway_id)
      .filter((g) => gatewayLimit(rollout, gatewayLimits, g).bytesPerHour !== undefined);
    const gatewayBytes = await this.campaigns.gatewayBytesSince(
      trx,
      campaign.tenant_id,
      budgeted,
      new Date(now.getTime() - BYTES_WINDOW_MS),
    );
    return { inFlightByGateway, gatewayBytes, gatewayLimits };
  }
}
