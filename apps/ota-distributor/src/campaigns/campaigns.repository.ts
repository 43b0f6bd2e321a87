import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import type { OtaCampaignDefinition, OtaExecutionState } from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import type { CampaignPhaseRow, CampaignRow, Executor, ExecutionRow } from '../core/database';
import { ACTIVE_STATES } from '../executions/execution-states';
import type { StateCounts } from './domain/halt';
import type { MaintenanceWindow } from './domain/maintenance-window';
import { SHADOW_PHASE } from './domain/shadow';
import type { CampaignState, PhaseState } from './domain/state-machines';

/**
 * A change of counters a bulk statement made (the trigger stood aside): +n or −n in (phase, state) in
 * one slot (`campaign_count_slot` of the executions it counts, migration 0012).
 */
export interface CountDelta {
  phase: number;
  state: OtaExecutionState;
  slot: number;
  n: number;
}

/** Sums deltas by (phase, state, slot). */
class CountDeltas {
  private readonly byKey = new Map<string, CountDelta>();

  add(phase: number, state: OtaExecutionState, slot: number, n: number): void {
    const key = `${phase}:${state}:${slot}`;
    const d = this.byKey.get(key) ?? { phase, state, slot, n: 0 };
    d.n += n;
    this.byKey.set(key, d);
  }

  get all(): CountDelta[] {
    return [...this.byKey.values()];
  }
}

export interface CampaignDeviceRow {
  device_id: string;
  phase: number;
  execution_id: string;
  state: OtaExecutionState;
  attempt: number;
  failure_code: string | null;
  admitted_at: Date | null;
  updated_at: Date;
}

const BATCH = 1_000;

/** A campaign's per-gateway settings, as its definition holds them. */
export interface GatewaySettings {
  perGatewayConcurrency: number;
  perGatewayBytesPerHour?: number;
}

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
  /** The shadow run's twins: phase 0, all to succeed, no soak. */
  shadowTwins?: readonly string[];
}

/** A shadow-run twin as the projection holds it. */
export interface TwinRow {
  device_id: string;
  class_id: string | null;
  state: string;
  hardware_revision: string | null;
  busy: boolean;
}

export type PhaseCounts = Map<number, Partial<Record<OtaExecutionState, number>>>;

/** Campaigns, their phases and counters. Every read names the tenant. */
@Injectable()
export class CampaignsRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  /** The database outside any transaction (reads that need no lock). */
  get reader(): Executor {
    return this.db;
  }

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
    if (c.shadowTwins)
      await trx
        .insertInto('campaign_phases')
        .values({
          campaign_id: c.campaignId,
          phase: SHADOW_PHASE,
          name: 'shadow',
          size: JSON.stringify({ deviceIds: c.shadowTwins }),
          success_threshold_percent: 100,
          min_soak_minutes: 0,
          activated_at: null,
          finished_at: null,
        })
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

  /** The campaign row locked by id (the distributor's own transitions: tenant from the row). */
  lockById(trx: Executor, campaignId: string): Promise<CampaignRow | undefined> {
    return trx
      .selectFrom('campaigns')
      .selectAll()
      .where('campaign_id', '=', campaignId)
      .forUpdate()
      .executeTakeFirst();
  }

  /** Whether the campaign's definition has abort rules (read unlocked: a definition never changes). */
  async hasAbortRules(executor: Executor, campaignId: string): Promise<boolean> {
    const row = await executor
      .selectFrom('campaigns')
      .select(sql<boolean>`coalesce(jsonb_array_length(body -> 'abort'), 0) > 0`.as('judged'))
      .where('campaign_id', '=', campaignId)
      .executeTakeFirst();
    return row?.judged ?? false;
  }

  /**
   * The named twins the tenant's projection knows (any class: the caller tells another class from an
   * unknown id only in its own logs), with whether each has an unfinished execution.
   */
  twins(executor: Executor, tenantId: string, deviceIds: readonly string[]): Promise<TwinRow[]> {
    if (deviceIds.length === 0) return Promise.resolve([]);
    return executor
      .selectFrom('devices as d')
      .select([
        'd.device_id',
        'd.class_id',
        'd.state',
        'd.hardware_revision',
        sql<boolean>`exists (select 1 from executions e where e.tenant_id = d.tenant_id
          and e.device_id = d.device_id and e.state in (${sql.join(ACTIVE_STATES)}))`.as('busy'),
      ])
      .where('d.tenant_id', '=', tenantId)
      .where('d.device_id', 'in', deviceIds)
      .orderBy('d.device_id')
      .execute();
  }

  /** The tenant's RUNNING or PAUSED campaigns of a manifest, locked (a revocation halts them). */
  lockRunningOfManifest(trx: Executor, tenantId: string, manifestId: string): Promise<CampaignRow[]> {
    return trx
      .selectFrom('campaigns')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('manifest_id', '=', manifestId)
      .where('state', 'in', ['RUNNING', 'PAUSED'])
      .orderBy('campaign_id')
      .forUpdate()
      .execute();
  }

  /** Locked for this replica's ticker, or undefined when another replica holds it (SKIP LOCKED). */
  lockOrSkip(trx: Executor, campaignId: string): Promise<CampaignRow | undefined> {
    return trx
      .selectFrom('campaigns')
      .selectAll()
      .where('campaign_id', '=', campaignId)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
  }

  /**
   * Read under a share lock: a halt or pause committing meanwhile is waited for, then seen; with the
   * campaign's maintenance windows (what a directive's install window is computed from).
   */
  stateForShare(
    trx: Executor,
    campaignId: string,
  ): Promise<
    | (Pick<CampaignRow, 'state' | 'cancel_mode'> & { maintenance_windows: MaintenanceWindow[] | null })
    | undefined
  > {
    return trx
      .selectFrom('campaigns')
      .select([
        'state',
        'cancel_mode',
        sql<MaintenanceWindow[] | null>`body -> 'maintenanceWindows'`.as('maintenance_windows'),
      ])
      .where('campaign_id', '=', campaignId)
      .forShare()
      .executeTakeFirst();
  }

  /** Campaigns the ticker has work for (timeouts run while paused or halted too: installs go on). */
  async tickable(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('campaigns')
      .select('campaign_id')
      .where('state', 'in', ['PLANNING', 'SCHEDULED', 'RUNNING', 'PAUSED', 'HALTED', 'CANCELLING'])
      .execute();
    return rows.map((r) => r.campaign_id);
  }

  /** Records the revert campaign a halt created. */
  async linkRevert(trx: Executor, campaignId: string, revertCampaignId: string): Promise<void> {
    await trx
      .updateTable('campaigns')
      .set({ revert_campaign_id: revertCampaignId })
      .where('campaign_id', '=', campaignId)
      .execute();
  }

  setFields(
    trx: Executor,
    campaignId: string,
    fields: {
      state: CampaignState;
      haltReason?: unknown;
      cancelMode?: 'graceful' | 'force';
      startedBy?: string;
    },
    now: Date,
  ): Promise<CampaignRow> {
    return trx
      .updateTable('campaigns')
      .set({
        state: fields.state,
        updated_at: now,
        version: (eb) => eb('version', '+', 1),
        ...(fields.startedBy !== undefined && { started_by: fields.startedBy }),
        ...(fields.haltReason !== undefined && { halt_reason: JSON.stringify(fields.haltReason) }),
        ...(fields.cancelMode !== undefined && { cancel_mode: fields.cancelMode }),
      })
      .where('campaign_id', '=', campaignId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async setPhase(
    trx: Executor,
    campaignId: string,
    phase: number,
    fields: { state?: PhaseState; targets?: number; activatedAt?: Date; finishedAt?: Date },
  ): Promise<void> {
    await trx
      .updateTable('campaign_phases')
      .set({
        ...(fields.state !== undefined && { state: fields.state }),
        ...(fields.targets !== undefined && { targets: fields.targets }),
        ...(fields.activatedAt !== undefined && { activated_at: fields.activatedAt }),
        ...(fields.finishedAt !== undefined && { finished_at: fields.finishedAt }),
      })
      .where('campaign_id', '=', campaignId)
      .where('phase', '=', phase)
      .execute();
  }

  /**
   * The devices a starting campaign targets, by the registry projection only: ACTIVE meters of the
   * class without an unfinished execution, optionally only the named ones, optionally only those no
   * receipt proved to run a sequence ≥ firmwareSequenceBelow.
   */
  async targets(
    trx: Executor,
    tenantId: string,
    classId: string,
    target: OtaCampaignDefinition['target'],
    twins: readonly string[] = [],
  ): Promise<{ device_id: string; gateway_id: string | null; hardware_revision: string | null }[]> {
    return (await this.targetQuery(trx, tenantId, classId, target, twins).execute()).map((r) => ({
      device_id: r.device_id,
      gateway_id: r.gateway_id,
      hardware_revision: r.hardware_revision,
    }));
  }

  /** The targets' distinct hardware revisions (a shadow run's coverage), without reading every target. */
  async targetRevisions(
    trx: Executor,
    tenantId: string,
    classId: string,
    target: OtaCampaignDefinition['target'],
    twins: readonly string[] = [],
  ): Promise<(string | null)[]> {
    const rows = await trx
      .selectFrom(this.targetQuery(trx, tenantId, classId, target, twins).clearOrderBy().as('t'))
      .select('t.hardware_revision')
      .distinct()
      .execute();
    return rows.map((r) => r.hardware_revision);
  }

  /** The same targets with the manifest each reported running: what a simulation reads. */
  targetsWithFirmware(
    tenantId: string,
    classId: string,
    target: OtaCampaignDefinition['target'],
    twins: readonly string[] = [],
  ): Promise<
    {
      device_id: string;
      gateway_id: string | null;
      hardware_revision: string | null;
      reported_manifest_digest: string | null;
    }[]
  > {
    return this.targetQuery(this.db, tenantId, classId, target, twins).execute();
  }

  /**
   * Meters of the class the target names that start would leave out: not ACTIVE (held), busy with an
   * unfinished execution, or proved by a receipt to run the sequence or later already.
   */
  async excludedFromTargets(
    tenantId: string,
    classId: string,
    target: OtaCampaignDefinition['target'],
    twins: readonly string[] = [],
  ): Promise<{ notActive: number; executionInProgress: number; atOrAboveSequence: number }> {
    const below = target.query?.firmwareSequenceBelow;
    const busy = sql<boolean>`exists (select 1 from executions e where e.tenant_id = d.tenant_id
      and e.device_id = d.device_id and e.state in (${sql.join(ACTIVE_STATES)}))`;
    const atOrAbove =
      below === undefined
        ? sql<boolean>`false`
        : sql<boolean>`exists (select 1 from installed_firmware f where f.tenant_id = d.tenant_id
            and f.device_id = d.device_id and f.sequence_number >= ${below})`;
    let query = this.db
      .selectFrom('devices as d')
      .select([
        sql<string>`count(*) filter (where d.state <> 'ACTIVE')`.as('not_active'),
        sql<string>`count(*) filter (where d.state = 'ACTIVE' and ${busy})`.as('busy'),
        sql<string>`count(*) filter (where d.state = 'ACTIVE' and not ${busy} and ${atOrAbove})`.as(
          'at_or_above',
        ),
      ])
      .where('d.tenant_id', '=', tenantId)
      .where('d.class_id', '=', classId);
    if (target.deviceIds) query = query.where('d.device_id', 'in', target.deviceIds);
    const gateways = target.query?.gatewayIds;
    if (gateways !== undefined)
      query =
        gateways.length === 0
          ? query.where(sql<boolean>`false`)
          : query.where('d.gateway_id', 'in', gateways);
    if (twins.length > 0) query = query.where('d.device_id', 'not in', twins);
    const row = await query.executeTakeFirstOrThrow();
    return {
      notActive: Number(row.not_active),
      executionInProgress: Number(row.busy),
      atOrAboveSequence: Number(row.at_or_above),
    };
  }

  /** What receipts proved the meters run of the given components, in pages of 10,000 meters. */
  async installedComponents(
    tenantId: string,
    deviceIds: readonly string[],
    components: readonly string[],
  ): Promise<{ device_id: string; component: string; digest: string }[]> {
    const rows: { device_id: string; component: string; digest: string }[] = [];
    for (let i = 0; i < deviceIds.length && components.length > 0; i += 10_000) {
      rows.push(
        ...(await this.db
          .selectFrom('installed_firmware')
          .select(['device_id', 'component', 'digest'])
          .where('tenant_id', '=', tenantId)
          .where('device_id', 'in', deviceIds.slice(i, i + 10_000))
          .where('component', 'in', components as never)
          .execute()),
      );
    }
    return rows;
  }

  private targetQuery(
    trx: Executor,
    tenantId: string,
    classId: string,
    target: OtaCampaignDefinition['target'],
    twins: readonly string[],
  ) {
    let query = trx
      .selectFrom('devices as d')
      .select(['d.device_id', 'd.gateway_id', 'd.hardware_revision', 'd.reported_manifest_digest'])
      .where('d.tenant_id', '=', tenantId)
      .where('d.class_id', '=', classId)
      .where('d.state', '=', 'ACTIVE')
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('executions as e')
              .select('e.execution_id')
              .whereRef('e.tenant_id', '=', 'd.tenant_id')
              .whereRef('e.device_id', '=', 'd.device_id')
              .where('e.state', 'in', ACTIVE_STATES),
          ),
        ),
      )
      .orderBy('d.device_id');
    if (target.deviceIds) query = query.where('d.device_id', 'in', target.deviceIds);
    const gateways = target.query?.gatewayIds;
    if (gateways !== undefined)
      query =
        gateways.length === 0
          ? query.where(sql<boolean>`false`)
          : query.where('d.gateway_id', 'in', gateways);
    // The shadow run's twins are never targets (nor dynamic joiners): they run phase 0 only.
    if (twins.length > 0) query = query.where('d.device_id', 'not in', twins);
    const below = target.query?.firmwareSequenceBelow;
    if (below !== undefined)
      query = query.where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('installed_firmware as f')
              .select('f.device_id')
              .whereRef('f.tenant_id', '=', 'd.tenant_id')
              .whereRef('f.device_id', '=', 'd.device_id')
              .where('f.sequence_number', '>=', below as never),
          ),
        ),
      );
    return query;
  }

  /** The tenant's RUNNING campaigns whose target is dynamic (new meters join them), unlocked. */
  runningDynamic(trx: Executor, tenantId: string): Promise<CampaignRow[]> {
    return trx
      .selectFrom('campaigns')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('state', '=', 'RUNNING')
      .where(sql<boolean>`(body -> 'target' ->> 'dynamic') = 'true'`)
      .orderBy('campaign_id')
      .execute();
  }

  /**
   * Which of the named devices would join a dynamic campaign now: its targets (the start's query)
   * that are not members yet (a member that left and came back keeps its one execution).
   */
  async joiners(
    trx: Executor,
    campaign: CampaignRow,
    deviceIds: readonly string[],
  ): Promise<{ device_id: string; gateway_id: string | null }[]> {
    if (deviceIds.length === 0) return [];
    const body = campaign.body as OtaCampaignDefinition;
    const twins = body.shadowRun?.twins ?? [];
    const rows = await this.targetQuery(trx, campaign.tenant_id, campaign.class_id, body.target, twins)
      .where('d.device_id', 'in', deviceIds)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('campaign_members as m')
              .select('m.device_id')
              .where('m.campaign_id', '=', campaign.campaign_id)
              .whereRef('m.device_id', '=', 'd.device_id'),
          ),
        ),
      )
      .execute();
    return rows.map((r) => ({ device_id: r.device_id, gateway_id: r.gateway_id }));
  }

  /**
   * Joiners of a dynamic campaign (locked by the caller) as QUEUED members of its phase `phase`, after
   * its members in admission order: admission lets them out under the campaign's rate and gateway
   * limits once that phase is open. The trigger counts each insert; the phase's targets grow by them.
   */
  async insertJoiners(
    trx: Executor,
    campaign: CampaignRow,
    phase: number,
    joiners: readonly { device_id: string; gateway_id: string | null }[],
    newId: () => string,
    now: Date,
  ): Promise<void> {
    if (joiners.length === 0) return;
    const { last } = await trx
      .selectFrom('campaign_members')
      .select(sql<number>`coalesce(max(admission_order), -1)`.as('last'))
      .where('campaign_id', '=', campaign.campaign_id)
      .where('phase', '=', phase)
      .executeTakeFirstOrThrow();
    const members = joiners.map((j, i) => ({ ...j, order: Number(last) + 1 + i, executionId: newId() }));
    await trx
      .insertInto('executions')
      .values(
        members.map((m) => ({
          execution_id: m.executionId,
          tenant_id: campaign.tenant_id,
          deployment_id: campaign.campaign_id,
          device_id: m.device_id,
          state: 'QUEUED' as const,
          campaign_id: campaign.campaign_id,
          phase,
          created_at: now,
          updated_at: now,
        })),
      )
      .execute();
    await trx
      .insertInto('campaign_members')
      .values(
        members.map((m) => ({
          campaign_id: campaign.campaign_id,
          device_id: m.device_id,
          phase,
          admission_order: m.order,
          gateway_id: m.gateway_id,
          execution_id: m.executionId,
        })),
      )
      .execute();
    await trx
      .updateTable('campaign_phases')
      .set((eb) => ({ targets: eb('targets', '+', members.length) }))
      .where('campaign_id', '=', campaign.campaign_id)
      .where('phase', '=', phase)
      .execute();
  }

  /** The executions of a phase's members (the shadow run's twins: a few). */
  async phaseExecutionIds(trx: Executor, campaignId: string, phase: number): Promise<string[]> {
    const rows = await trx
      .selectFrom('campaign_members')
      .select('execution_id')
      .where('campaign_id', '=', campaignId)
      .where('phase', '=', phase)
      .execute();
    return rows.flatMap((r) => (r.execution_id === null ? [] : [r.execution_id]));
  }

  /** The deployment row a campaign's executions hang on (same id): what check-in and receipts read. */
  async insertDeployment(
    trx: Executor,
    row: CampaignRow,
    body: OtaCampaignDefinition,
    now: Date,
  ): Promise<void> {
    await trx
      .insertInto('deployments')
      .values({
        deployment_id: row.campaign_id,
        tenant_id: row.tenant_id,
        manifest_id: row.manifest_id,
        manifest_digest: row.manifest_digest,
        fallback_manifest_id: null,
        class_id: row.class_id,
        sequence_number: Number(row.sequence_number),
        action_type: body.actionType,
        force_at: body.forceAt ?? null,
        window_starts_at: null,
        window_ends_at: null,
        created_by: row.created_by,
        created_at: now,
      })
      .execute();
  }

  /**
   * The membership plan and one QUEUED execution per member, in batches; the counters are set once
   * per phase and slot (the trigger stands aside for these inserts; each insert answers its rows'
   * slots).
   */
  async insertMembers(
    trx: Executor,
    campaign: CampaignRow,
    phases: readonly (readonly string[])[],
    newId: () => string,
    now: Date,
    gatewayOf: (deviceId: string) => string | null = () => null,
    firstPhase = 1,
  ): Promise<void> {
    await this.bulkCounts(trx, true);
    const deltas = new CountDeltas();
    for (const [index, members] of phases.entries()) {
      const phase = index + firstPhase;
      for (let i = 0; i < members.length; i += BATCH) {
        const slice = members.slice(i, i + BATCH).map((deviceId, j) => ({
          deviceId,
          order: i + j,
          executionId: newId(),
        }));
        const slots = await trx
          .insertInto('executions')
          .values(
            slice.map((m) => ({
              execution_id: m.executionId,
              tenant_id: campaign.tenant_id,
              deployment_id: campaign.campaign_id,
              device_id: m.deviceId,
              state: 'QUEUED' as const,
              campaign_id: campaign.campaign_id,
              phase,
              created_at: now,
              updated_at: now,
            })),
          )
          .returning(sql<number>`campaign_count_slot(execution_id)`.as('slot'))
          .execute();
        for (const { slot } of slots) deltas.add(phase, 'QUEUED', slot, 1);
        await trx
          .insertInto('campaign_members')
          .values(
            slice.map((m) => ({
              campaign_id: campaign.campaign_id,
              device_id: m.deviceId,
              phase,
              admission_order: m.order,
              // The gateway the projection held at start: admission's per-gateway budgets count by it.
              gateway_id: gatewayOf(m.deviceId),
              execution_id: m.executionId,
            })),
          )
          .execute();
      }
      await this.setPhase(trx, campaign.campaign_id, phase, { targets: members.length });
    }
    await this.bulkCounts(trx, false);
    await this.applyCounts(trx, campaign.campaign_id, deltas.all);
  }

  /** While on, the counting trigger stands aside: the bulk statement's caller applies the counts. */
  private async bulkCounts(trx: Executor, on: boolean): Promise<void> {
    await sql`select set_config('ota.bulk_counts', ${on ? 'on' : 'off'}, true)`.execute(trx);
  }

  /**
   * Aggregated counter changes in one statement, rows locked in the trigger's order (phase, then state
   * in C order, then slot): applied one by one in the order of the arrays.
   */
  async applyCounts(trx: Executor, campaignId: string, deltas: readonly CountDelta[]): Promise<void> {
    const sorted = deltas
      .filter((d) => d.n !== 0)
      .sort(
        (a, b) =>
          a.phase - b.phase || (a.state < b.state ? -1 : a.state > b.state ? 1 : 0) || a.slot - b.slot,
      );
    if (sorted.length === 0) return;
    await sql`
      select campaign_count_add(${campaignId}::uuid, d.phase, d.state, d.slot, d.n)
      from (
        select * from unnest(
          ${sorted.map((d) => d.phase)}::integer[],
          ${sorted.map((d) => d.state)}::text[],
          ${sorted.map((d) => d.slot)}::integer[],
          ${sorted.map((d) => d.n)}::integer[]
        ) with ordinality as d (phase, state, slot, n, i)
        order by d.i
      ) d`.execute(trx);
  }

  /**
   * Moves the campaign's executions in `from` to `to` (those another transaction holds are skipped:
   * the next pass takes them), counters applied in one sorted step. Answers the rows as they now are.
   */
  async bulkMove(
    trx: Executor,
    campaignId: string,
    from: readonly OtaExecutionState[],
    to: 'CANCELLED' | 'QUEUED' | 'TIMED_OUT',
    now: Date,
    options: { maxAttempt?: number; ids?: readonly string[] } = {},
  ): Promise<ExecutionRow[]> {
    if (from.length === 0 || options.ids?.length === 0) return [];
    await this.bulkCounts(trx, true);
    const retry = to === 'QUEUED';
    const { rows } = await sql<ExecutionRow & { old_state: OtaExecutionState; count_slot: number }>`
      with picked as (
        select e.execution_id, e.state as old_state from executions e
        where e.campaign_id = ${campaignId} and e.state in (${sql.join(from)})
          ${options.maxAttempt !== undefined ? sql`and e.attempt <= ${options.maxAttempt}` : sql``}
          ${options.ids !== undefined ? sql`and e.execution_id in (${sql.join([...options.ids])})` : sql``}
          ${
            retry
              ? sql`and not exists (select 1 from executions x where x.tenant_id = e.tenant_id
                  and x.device_id = e.device_id and x.state in (${sql.join([...ACTIVE_STATES])}))`
              : sql``
          }
        for update of e skip locked
      )
      update executions e set
        state = ${to},
        attempt = ${retry ? sql`e.attempt + 1` : sql`e.attempt`},
        admitted_at = ${retry ? null : sql`e.admitted_at`},
        directive = ${retry ? null : sql`e.directive`},
        directive_expires_at = ${retry ? null : sql`e.directive_expires_at`},
        failure_code = ${retry ? null : sql`e.failure_code`},
        version = e.version + 1,
        updated_at = ${now}
      from picked where e.execution_id = picked.execution_id
      returning e.*, picked.old_state, campaign_count_slot(e.execution_id) as count_slot`.execute(trx);
    await this.bulkCounts(trx, false);
    const deltas = new CountDeltas();
    for (const row of rows) {
      deltas.add(row.phase!, row.old_state, row.count_slot, -1);
      deltas.add(row.phase!, to, row.count_slot, 1);
    }
    await this.applyCounts(trx, campaignId, deltas.all);
    return rows.map(({ old_state: _old, count_slot: _slot, ...row }) => row);
  }

  /** Instants (ms) of the campaign's admissions after `since` (from the log: retried ones too). */
  async admittedSince(trx: Executor, campaignId: string, since: Date): Promise<number[]> {
    const rows = await trx
      .selectFrom('campaign_admissions')
      .select('admitted_at')
      .where('campaign_id', '=', campaignId)
      .where('admitted_at', '>', since)
      .execute();
    return rows.map((r) => r.admitted_at.getTime());
  }

  /**
   * The tenant's campaigns that may load a gateway now (meters queued or in flight): the campaign's
   * own and every other one not yet finished, with their rollout settings.
   */
  async gatewaySharers(
    trx: Executor,
    campaign: Pick<CampaignRow, 'campaign_id' | 'tenant_id'>,
  ): Promise<{ campaign_id: string; rollout: GatewaySettings }[]> {
    return trx
      .selectFrom('campaigns')
      .select(['campaign_id', sql<GatewaySettings>`body -> 'rollout'`.as('rollout')])
      .where('tenant_id', '=', campaign.tenant_id)
      .where((eb) =>
        eb.or([
          eb('campaign_id', '=', campaign.campaign_id),
          eb('state', 'in', ['RUNNING', 'PAUSED', 'HALTED', 'CANCELLING']),
        ]),
      )
      .execute();
  }

  /**
   * Per campaign and gateway (only the gateways `campaignId` has members behind): unfinished members
   * and, of them, the admitted ones (in flight). A gateway's load is every campaign's.
   */
  async gatewayShares(
    trx: Executor,
    campaignId: string,
    campaignIds: readonly string[],
  ): Promise<{ campaign_id: string; gateway_id: string; unfinished: number; in_flight: number }[]> {
    const rows = await trx
      .selectFrom('campaign_members as m')
      .innerJoin('executions as e', 'e.execution_id', 'm.execution_id')
      .select([
        'm.campaign_id',
        'm.gateway_id',
        (eb) => eb.fn.countAll<string>().as('unfinished'),
        sql<string>`count(*) filter (where e.admitted_at is not null)`.as('in_flight'),
      ])
      .where('m.campaign_id', 'in', [...campaignIds])
      .where('m.gateway_id', 'in', (eb) =>
        eb
          .selectFrom('campaign_members')
          .select('gateway_id')
          .where('campaign_id', '=', campaignId)
          .where('gateway_id', 'is not', null),
      )
      .where('e.state', 'in', ACTIVE_STATES)
      .groupBy(['m.campaign_id', 'm.gateway_id'])
      .execute();
    return rows.map((r) => ({
      campaign_id: r.campaign_id,
      gateway_id: r.gateway_id!,
      unfinished: Number(r.unfinished),
      in_flight: Number(r.in_flight),
    }));
  }

  /**
   * Admissions behind these gateways after `since`, by any campaign of the tenant (finished ones too:
   * the hour's bytes went through the gateway all the same), with their bytes.
   */
  async gatewayBytesSince(
    trx: Executor,
    tenantId: string,
    gateways: readonly string[],
    since: Date,
  ): Promise<Map<string, { at: number; bytes: number }[]>> {
    const byGateway = new Map<string, { at: number; bytes: number }[]>();
    if (gateways.length === 0) return byGateway;
    const rows = await trx
      .selectFrom('campaign_admissions as a')
      .innerJoin('campaigns as c', 'c.campaign_id', 'a.campaign_id')
      .select(['a.gateway_id', 'a.admitted_at', 'a.bytes'])
      .where('c.tenant_id', '=', tenantId)
      .where('a.gateway_id', 'in', [...gateways])
      .where('a.admitted_at', '>', since)
      .execute();
    for (const row of rows) {
      const list = byGateway.get(row.gateway_id!) ?? [];
      list.push({ at: row.admitted_at.getTime(), bytes: Number(row.bytes) });
      byGateway.set(row.gateway_id!, list);
    }
    return byGateway;
  }

  /**
   * Serialises gateway admissions within a tenant (a transaction-scoped advisory lock): two campaigns
   * locked by two replicas would otherwise each see a gateway below its limit and together pass it.
   */
  async lockGatewayAdmissions(trx: Executor, tenantId: string): Promise<void> {
    await sql`select pg_advisory_xact_lock(hashtext(current_schema() || '.gateway-admission.' || ${tenantId}))`.execute(
      trx,
    );
  }

  /** Logs admissions; forgets the campaign's older than `before` (nothing reads past an hour). */
  async logAdmissions(
    trx: Executor,
    campaignId: string,
    admitted: readonly { executionId: string; gatewayId: string | null; bytes: number }[],
    now: Date,
    before: Date,
  ): Promise<void> {
    await trx
      .deleteFrom('campaign_admissions')
      .where('campaign_id', '=', campaignId)
      .where('admitted_at', '<', before)
      .execute();
    if (admitted.length === 0) return;
    await trx
      .insertInto('campaign_admissions')
      .values(
        admitted.map((a) => ({
          campaign_id: campaignId,
          execution_id: a.executionId,
          gateway_id: a.gatewayId,
          bytes: a.bytes,
          admitted_at: now,
        })),
      )
      .execute();
  }

  /**
   * QUEUED, not yet admitted executions of a phase (and of earlier ones: retries) in admission order, passing over the members of
   * `closedGateways` (full or out of bytes: a closed gateway's queue never starves the others').
   */
  candidates(
    trx: Executor,
    campaignId: string,
    phase: number,
    limit: number,
    closedGateways: readonly string[] = [],
  ) {
    let query = trx
      .selectFrom('campaign_members as m')
      .innerJoin('executions as e', 'e.execution_id', 'm.execution_id')
      .select(['e.execution_id', 'm.gateway_id'])
      .where('m.campaign_id', '=', campaignId)
      // Earlier phases' queued members too: retried executions of a phase that has passed.
      .where('m.phase', '<=', phase)
      .where('e.state', '=', 'QUEUED')
      .where('e.admitted_at', 'is', null)
      .orderBy('m.phase')
      .orderBy('m.admission_order')
      .limit(limit);
    if (closedGateways.length > 0)
      query = query.where((eb) =>
        eb.or([eb('m.gateway_id', 'is', null), eb('m.gateway_id', 'not in', closedGateways)]),
      );
    return query.execute();
  }

  /** Whether any member of the campaign sits behind a gateway (else no per-gateway reads at all). */
  async hasGatewayMembers(trx: Executor, campaignId: string): Promise<boolean> {
    const row = await trx
      .selectFrom('campaign_members')
      .select('device_id')
      .where('campaign_id', '=', campaignId)
      .where('gateway_id', 'is not', null)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** The bytes one member downloads: the sum of the campaign manifest's component sizes. */
  async bytesPerDevice(trx: Executor, tenantId: string, manifestId: string): Promise<number> {
    const row = await trx
      .selectFrom('manifests')
      .select('components')
      .where('tenant_id', '=', tenantId)
      .where('manifest_id', '=', manifestId)
      .executeTakeFirst();
    return (row?.components ?? []).reduce((n, c) => n + c.size, 0);
  }

  /** Lets these executions' directives out (those locked elsewhere or no longer queued are left). */
  async markAdmitted(trx: Executor, executionIds: readonly string[], now: Date): Promise<string[]> {
    if (executionIds.length === 0) return [];
    const { rows } = await sql<{ execution_id: string }>`
      update executions set admitted_at = ${now}, version = version + 1, updated_at = ${now}
      where execution_id in (
        select execution_id from executions
        where execution_id in (${sql.join([...executionIds])}) and state = 'QUEUED' and admitted_at is null
        for update skip locked
      )
      returning execution_id`.execute(trx);
    return rows.map((r) => r.execution_id);
  }

  async haltKeys(trx: Executor, campaignId: string): Promise<{ rule: number; phase: number }[]> {
    return trx
      .selectFrom('campaign_halts')
      .select(['rule', 'phase'])
      .where('campaign_id', '=', campaignId)
      .execute();
  }

  /** Records a crossing; false when it was recorded before (exactly one halt per rule and phase). */
  async insertHalt(
    trx: Executor,
    campaignId: string,
    halt: { rule: number; phase: number; failed: number; executed: number },
    now: Date,
  ): Promise<boolean> {
    const row = await trx
      .insertInto('campaign_halts')
      .values({ campaign_id: campaignId, ...halt, halted_at: now })
      .onConflict((oc) => oc.columns(['campaign_id', 'rule', 'phase']).doNothing())
      .returning('rule')
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * FAILED and TIMED_OUT executions with attempts left (attempt ≤ max) that ended before `since`
   * (the shortest backoff ago; null: whenever): candidates for an automatic retry; the domain decides.
   */
  retryCandidates(
    trx: Executor,
    campaignId: string,
    maxAttempt: number,
    since: Date | null,
    codes: readonly string[],
  ) {
    // The policy's codes as LIKE patterns (codes are [A-Z0-9_], a trailing * a prefix): failures no
    // retry can take (another code, attempts spent) are not read again on every tick.
    const patterns = codes
      .filter((c) => c !== 'TIMED_OUT')
      .map((c) => (c.endsWith('*') ? `${c.slice(0, -1).replaceAll('_', '\\_')}%` : c.replaceAll('_', '\\_')));
    const timedOut = codes.includes('TIMED_OUT');
    return trx
      .selectFrom('executions')
      .select(['execution_id', 'phase', 'state', 'failure_code', 'attempt', 'stage_entered_at'])
      .where('campaign_id', '=', campaignId)
      .where('state', 'in', ['FAILED', 'TIMED_OUT'])
      .where('attempt', '<=', maxAttempt)
      .$if(since !== null, (q) => q.where('stage_entered_at', '<=', since!))
      .where((eb) =>
        eb.or([
          ...(timedOut ? [eb('state', '=', 'TIMED_OUT')] : []),
          ...(patterns.length > 0
            ? [eb.and([eb('state', '=', 'FAILED'), sql<boolean>`failure_code like any (${patterns})`])]
            : []),
          ...(timedOut || patterns.length > 0 ? [] : [sql<boolean>`false`]),
        ]),
      )
      .execute();
  }

  /**
   * A phase's members with an unfinished execution whose meter has no check-in recorded after
   * `before` (candidates for overdue; the domain decides), by device id, at most `limit`.
   */
  silentMembers(
    executor: Executor,
    campaign: Pick<CampaignRow, 'campaign_id' | 'tenant_id'>,
    phase: number,
    before: Date,
    limit = 100_000,
  ) {
    return executor
      .selectFrom('campaign_members as m')
      .innerJoin('executions as e', 'e.execution_id', 'm.execution_id')
      .innerJoin('devices as d', (join) =>
        join.on('d.tenant_id', '=', campaign.tenant_id).onRef('d.device_id', '=', 'm.device_id'),
      )
      .select(['m.device_id', 'd.last_check_in_at'])
      .where('m.campaign_id', '=', campaign.campaign_id)
      .where('m.phase', '=', phase)
      .where('e.state', 'in', ACTIVE_STATES)
      .where((eb) => eb.or([eb('d.last_check_in_at', 'is', null), eb('d.last_check_in_at', '<', before)]))
      .orderBy('m.device_id')
      .limit(limit)
      .execute();
  }

  /** Executions in a stage with a timeout that began before `since` (candidates; the domain decides). */
  staged(trx: Executor, campaignId: string, since: Date) {
    return trx
      .selectFrom('executions')
      .select(['execution_id', 'state', 'stage_entered_at'])
      .where('campaign_id', '=', campaignId)
      .where('state', 'in', ['DOWNLOADING', 'INSTALLING', 'REBOOTING', 'CONFIRMING'])
      .where('stage_entered_at', '<=', since)
      .execute();
  }

  /**
   * Devices a revert must cover: their execution of the campaign ended on its firmware (SUCCEEDED,
   * ALREADY_INSTALLED) or is installing it (an install under way finishes after a halt, spec §6.6).
   */
  async exposedDevices(trx: Executor, campaignId: string): Promise<string[]> {
    const rows = await trx
      .selectFrom('executions')
      .select('device_id')
      .where('campaign_id', '=', campaignId)
      .where('state', 'in', ['SUCCEEDED', 'ALREADY_INSTALLED', 'INSTALLING', 'REBOOTING', 'CONFIRMING'])
      .orderBy('device_id')
      .execute();
    return rows.map((r) => r.device_id);
  }

  /**
   * Whether the campaign's manifest was revoked, read under a share lock: a revocation committing
   * meanwhile is waited for and seen, and one that comes after waits for this transaction (then halts
   * the campaign it started). Locks the manifest after the campaign; a revocation never holds a
   * campaign before its manifest, so the two never deadlock.
   */
  async manifestRevoked(trx: Executor, tenantId: string, manifestId: string): Promise<boolean> {
    const row = await trx
      .selectFrom('manifests')
      .select('state')
      .where('tenant_id', '=', tenantId)
      .where('manifest_id', '=', manifestId)
      .forShare()
      .executeTakeFirst();
    return row?.state === 'revoked';
  }

  /** An accepted manifest of the tenant (the revert's). */
  acceptedManifest(trx: Executor, tenantId: string, manifestId: string) {
    return trx
      .selectFrom('manifests')
      .select(['manifest_id', 'digest', 'class_id', 'sequence_number'])
      .where('tenant_id', '=', tenantId)
      .where('manifest_id', '=', manifestId)
      .where('state', '=', 'accepted')
      .executeTakeFirst();
  }

  /** A page of the campaign's devices by device id (keyset), optionally of one phase or state. */
  devices(
    campaignId: string,
    options: {
      state?: OtaExecutionState;
      phase?: number;
      shadowRun?: boolean;
      cursor?: string;
      limit: number;
    },
  ): Promise<CampaignDeviceRow[]> {
    let query = this.db
      .selectFrom('campaign_members as m')
      .innerJoin('executions as e', 'e.execution_id', 'm.execution_id')
      .select([
        'm.device_id',
        'm.phase',
        'e.execution_id',
        'e.state',
        'e.attempt',
        'e.failure_code',
        'e.admitted_at',
        'e.updated_at',
      ])
      .where('m.campaign_id', '=', campaignId)
      // The shadow run's twins are in no phase of the fleet: listed apart, on request only.
      .where('m.phase', options.shadowRun ? '=' : '<>', SHADOW_PHASE)
      .orderBy('m.device_id')
      .limit(options.limit);
    if (options.state) query = query.where('e.state', '=', options.state);
    if (options.phase !== undefined) query = query.where('m.phase', '=', options.phase);
    if (options.cursor !== undefined) query = query.where('m.device_id', '>', options.cursor);
    return query.execute();
  }

  phases(campaignId: string, executor: Executor = this.db): Promise<CampaignPhaseRow[]> {
    return executor
      .selectFrom('campaign_phases')
      .selectAll()
      .where('campaign_id', '=', campaignId)
      .orderBy('phase')
      .execute();
  }

  /**
   * The kept counters (no scan of executions): phase → state → count, each the sum of its slots read
   * in one statement (one snapshot). A caller that decides on them (the abort rules) holds the
   * campaign's lock, which every change into an outcome takes before it moves a counter.
   */
  async counts(campaignId: string, executor: Executor = this.db): Promise<PhaseCounts> {
    const rows = await executor
      .selectFrom('campaign_phase_counts')
      .select(['phase', 'state', sql<number>`sum(count)::integer`.as('count')])
      .where('campaign_id', '=', campaignId)
      .where('count', '>', 0)
      .groupBy(['phase', 'state'])
      .execute();
    const counts: PhaseCounts = new Map();
    for (const row of rows) counts.set(row.phase, { ...counts.get(row.phase), [row.state]: row.count });
    return counts;
  }
}

/** All phases' counters added up; the shadow run's twins count in none. */
export function totalCounts(counts: PhaseCounts): StateCounts {
  const total: StateCounts = {};
  for (const [phase, byState] of counts)
    if (phase !== SHADOW_PHASE)
      for (const [state, n] of Object.entries(byState) as [OtaExecutionState, number][])
        total[state] = (total[state] ?? 0) + n;
  return total;
}

/** The campaign's targets: its phases' members, the shadow run's twins aside. */
export function fleetTargets(phases: readonly Pick<CampaignPhaseRow, 'phase' | 'targets'>[]): number {
  return phases.reduce((sum, p) => sum + (p.phase === SHADOW_PHASE ? 0 : p.targets), 0);
}
