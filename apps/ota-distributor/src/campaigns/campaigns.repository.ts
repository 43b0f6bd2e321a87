import { Inject, Injectable } from '@nestjs/common';
import type { OtaExecutionState } from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import type { CampaignPhaseRow, CampaignRow, Executor } from '../core/database';
import type { CampaignState } from './domain/state-machines';

export interface NewCampaign {
  campaignId: string;
  tenantId: string;
  name: string;
  manifestId: string;
  manifestDigest: string;
  classId: string;
  sequenceNumber: number;
  body: unknown;
  createdBy: string;
  phases: { name: string; size: unknown; successThresholdPercent: number; minSoakMinutes: number }[];
}

export type PhaseCounts = Map<number, Partial<Record<OtaExecutionState, number>>>;

/** Campaigns, their phases and counters. Every read names the tenant. */
@Injectable()
export class CampaignsRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  async insert(trx: Executor, c: NewCampaign, now: Date): Promise<CampaignRow> {
    const row = await trx
      .insertInto('campaigns')
      .values({
        campaign_id: c.campaignId,
        tenant_id: c.tenantId,
        name: c.name,
        manifest_id: c.manifestId,
        manifest_digest: c.manifestDigest,
        class_id: c.classId,
        sequence_number: c.sequenceNumber,
        state: 'DRAFT',
        body: JSON.stringify(c.body),
        created_by: c.createdBy,
        submitted_by: null,
        submitted_at: null,
        decided_by: null,
        decided_at: null,
        halt_reason: null,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('campaign_phases')
      .values(
        c.phases.map((p, i) => ({
          campaign_id: c.campaignId,
          phase: i + 1,
          name: p.name,
          size: JSON.stringify(p.size),
          success_threshold_percent: p.successThresholdPercent,
          min_soak_minutes: p.minSoakMinutes,
          activated_at: null,
          finished_at: null,
        })),
      )
      .execute();
    return row;
  }

  find(tenantId: string, campaignId: string, executor: Executor = this.db): Promise<CampaignRow | undefined> {
    return executor
      .selectFrom('campaigns')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('campaign_id', '=', campaignId)
      .executeTakeFirst();
  }

  /** The campaign row locked for a state change in `trx`. */
  lock(trx: Executor, tenantId: string, campaignId: string): Promise<CampaignRow | undefined> {
    return trx
      .selectFrom('campaigns')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('campaign_id', '=', campaignId)
      .forUpdate()
      .executeTakeFirst();
  }

  updateState(
    trx: Executor,
    campaignId: string,
    state: CampaignState,
    fields: { submittedBy?: string; decidedBy?: string },
    now: Date,
  ): Promise<CampaignRow> {
    return trx
      .updateTable('campaigns')
      .set({
        state,
        updated_at: now,
        version: (eb) => eb('version', '+', 1),
        ...(fields.submittedBy !== undefined && { submitted_by: fields.submittedBy, submitted_at: now }),
        ...(fields.decidedBy !== undefined && { decided_by: fields.decidedBy, decided_at: now }),
      })
      .where('campaign_id', '=', campaignId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  phases(campaignId: string, executor: Executor = this.db): Promise<CampaignPhaseRow[]> {
    return executor
      .selectFrom('campaign_phases')
      .selectAll()
      .where('campaign_id', '=', campaignId)
      .orderBy('phase')
      .execute();
  }

  /** The kept counters (no scan of executions): phase → state → count. */
  async counts(campaignId: string, executor: Executor = this.db): Promise<PhaseCounts> {
    const rows = await executor
      .selectFrom('campaign_phase_counts')
      .select(['phase', 'state', 'count'])
      .where('campaign_id', '=', campaignId)
      .where('count', '>', 0)
      .execute();
    const counts: PhaseCounts = new Map();
    for (const row of rows) counts.set(row.phase, { ...counts.get(row.phase), [row.state]: row.count });
    return counts;
  }
}
