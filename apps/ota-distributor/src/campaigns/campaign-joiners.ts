import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Executor } from '../core/database';
import { CampaignsRepository } from './campaigns.repository';

/** A device whose registry change may make it a target (see mayJoinCampaigns). */
export interface JoinCandidate {
  tenantId: string;
  deviceId: string;
}

/** Phases a joiner may still enter: the last one has not ended. */
const JOINABLE_PHASE_STATES = ['PENDING', 'ACTIVE', 'SOAKING'];

/**
 * Dynamic targets (spec §6.1, §6.5): while a campaign with `target.dynamic` RUNS, a meter whose
 * registry change makes it match the campaign's query joins its LAST phase as a QUEUED execution,
 * admitted later under the campaign's rate and gateway limits like any member. Found on the change
 * itself, in the projection's transaction (never by re-querying the registry); only the meter's own
 * tenant's campaigns, never a non-dynamic one, never twice. A meter matching two joins the first by
 * campaign id: the second then sees its unfinished execution and leaves it out, as start would.
 */
@Injectable()
export class CampaignJoiners {
  constructor(private readonly campaigns: CampaignsRepository) {}

  /** Answers how many executions were added. */
  async join(trx: Executor, candidates: readonly JoinCandidate[], now: Date): Promise<number> {
    const byTenant = new Map<string, string[]>();
    for (const c of candidates) byTenant.set(c.tenantId, [...(byTenant.get(c.tenantId) ?? []), c.deviceId]);
    let joined = 0;
    for (const [tenantId, deviceIds] of byTenant) {
      for (const campaign of await this.campaigns.runningDynamic(trx, tenantId)) {
        // Read unlocked first: most changes join nothing, and the ticker's lock is not taken for them.
        if ((await this.campaigns.joiners(trx, campaign, deviceIds)).length === 0) continue;
        joined += await this.joinLastPhase(trx, campaign.campaign_id, deviceIds, now);
      }
    }
    return joined;
  }

  /**
   * The named devices that are the campaign's targets now and not its members join its last phase,
   * if it RUNS and that phase has not ended (also a revert's late joiners, CampaignStatusFeed).
   * Locks the campaign; answers how many executions were added.
   */
  async joinLastPhase(
    trx: Executor,
    campaignId: string,
    deviceIds: readonly string[],
    now: Date,
  ): Promise<number> {
    const locked = await this.campaigns.lockById(trx, campaignId);
    if (locked?.state !== 'RUNNING') return 0;
    const last = (await this.campaigns.phases(campaignId, trx)).at(-1);
    if (!last || !JOINABLE_PHASE_STATES.includes(last.state)) return 0;
    const joiners = await this.campaigns.joiners(trx, locked, deviceIds);
    await this.campaigns.insertJoiners(trx, locked, last.phase, joiners, randomUUID, now);
    return joiners.length;
  }
}
