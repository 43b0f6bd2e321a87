import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { OTA_CAMPAIGNS_V2, type OtaCampaignDefinition, type OtaExecutionState } from '@meterkeep/contracts';
import { AuditLog } from '../audit/audit-log';
import type { CampaignRow, Executor, ExecutionRow } from '../core/database';
import { OutboxRepository } from '../outbox/outbox.repository';
import { campaignEvent, eventCounts } from './campaign-events';
import { CampaignJoiners } from './campaign-joiners';
import { CampaignsRepository, fleetTargets, type PhaseCounts, totalCounts } from './campaigns.repository';
import {
  type AbortRule,
  EXECUTED_STATES,
  type PendingRetry,
  evaluateHalt,
  haltKey,
  withoutPendingRetries,
} from './domain/halt';
import { SHADOW_PHASE, shadowVerdict } from './domain/shadow';
import { MAX_RETRIES, retryDecision } from './domain/timeouts-retries';
import { CAMPAIGN_MACHINE } from './domain/state-machines';
import { TestPausePoints } from './test-pause-points';

const EXECUTED: ReadonlySet<string> = new Set(EXECUTED_STATES);
/** Who creates and submits a revert campaign: the distributor itself, never an operator's key. */
export const REVERT_ACTOR = 'ota-distributor';

/**
 * A campaign execution's committed status feeds its campaign (spec §6.6). The counters already moved
 * in the same transaction (the executions trigger, migrations 0007 and 0012); when the status is an
 * outcome on the meter and the campaign has abort rules, the campaign row is locked before the change
 * (so two crossing statuses are judged one after the other, each seeing the other's counts) and the
 * abort rules evaluated on the kept counters. A crossing is recorded once per (rule, phase) in
 * campaign_halts, and only the transaction that records it halts the campaign and produces the one
 * `halted` event: a replay after a crash finds the key and does nothing.
 *
 * Why that is enough with sharded counters: the rules read `executed` and `failed`, which only
 * outcomes move, and every change into an outcome (status, receipt; the ticker's timeouts and retries
 * under the same lock) takes the campaign lock before its counters move. So the decider holding the
 * lock sees, in its one-statement sum of the slots, every earlier decider's committed counts and its
 * own; a later one waits for its commit. Statuses between active states move no count a rule reads,
 * take no campaign lock, and wait for another status only when their executions share a counter slot.
 */
@Injectable()
export class CampaignStatusFeed {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly audit: AuditLog,
    private readonly outbox: OutboxRepository,
    private readonly pausePoints: TestPausePoints,
    private readonly joiners: CampaignJoiners,
  ) {}

  /**
   * Before the state change: locks the campaign when the new state is an outcome and the campaign has
   * abort rules (without any, no outcome can halt it: nothing to judge, nothing to wait for; a
   * campaign's definition never changes once created), so every judging transaction takes execution,
   * then campaign, then counters (the check-in's order too).
   */
  async prepare(
    trx: Executor,
    execution: Pick<ExecutionRow, 'campaign_id' | 'phase'>,
    next: OtaExecutionState,
  ): Promise<CampaignRow | undefined> {
    if (execution.campaign_id === null || !EXECUTED.has(next)) return undefined;
    // A twin's outcome is always judged: the shadow run halts on any failure, abort rules or not.
    if (execution.phase !== SHADOW_PHASE && !(await this.campaigns.hasAbortRules(trx, execution.campaign_id)))
      return undefined;
    return this.campaigns.lockById(trx, execution.campaign_id);
  }

  /** After the state change, in its transaction: the abort rules on the counters it moved. */
  async afterStatus(
    trx: Executor,
    campaign: CampaignRow | undefined,
    execution: ExecutionRow,
    now: Date,
  ): Promise<void> {
    if (!campaign || execution.phase === null || !EXECUTED.has(execution.state)) return;
    // An install under way at the halt has finished: the meter joins the revert if it already runs
    // (one not started yet takes it at its start, as the meter is among its targets).
    if (campaign.revert_campaign_id)
      await this.joiners.joinLastPhase(trx, campaign.revert_campaign_id, [execution.device_id], now);
    else await this.evaluate(trx, campaign, execution.phase, now);
  }

  /**
   * The abort rules over a phase's and the campaign's counters, on a campaign locked by the caller;
   * answers the campaign as it now is (HALTED when this call halted it).
   */
  async evaluate(
    trx: Executor,
    campaign: CampaignRow,
    phaseOfStatus: number,
    now: Date,
  ): Promise<CampaignRow> {
    if (!CAMPAIGN_MACHINE.next(campaign.state, 'halt').ok) return campaign;
    if (phaseOfStatus === SHADOW_PHASE) return this.evaluateShadow(trx, campaign, now);
    const rules = (campaign.body as { abort: AbortRule[] }).abort;
    const kept = await this.campaigns.counts(campaign.campaign_id, trx);
    const pending = await this.pendingRetries(trx, campaign);
    const counts: PhaseCounts = new Map(
      [...kept].map(([phase, byState]) => [
        phase,
        withoutPendingRetries(
          byState,
          pending.filter((p) => p.phase === phase),
        ),
      ]),
    );
    const campaignCounts = totalCounts(counts);
    const recorded = new Set(
      (await this.campaigns.haltKeys(trx, campaign.campaign_id)).map((h) => haltKey(h.rule, h.phase)),
    );
    const crossing = evaluateHalt({
      rules,
      phase: phaseOfStatus,
      phaseCounts: counts.get(phaseOfStatus) ?? {},
      campaignCounts,
      recorded,
    });
    if (!crossing) return campaign;
    const { rule, phase, failed, executed } = crossing;
    if (!(await this.campaigns.insertHalt(trx, campaign.campaign_id, { rule, phase, failed, executed }, now)))
      return campaign;
    const row = await this.campaigns.setFields(
      trx,
      campaign.campaign_id,
      { state: 'HALTED', haltReason: { rule, phase, failed, executed } },
      now,
    );
    const phases = await this.campaigns.phases(campaign.campaign_id, trx);
    const targets = fleetTargets(phases);
    await this.outbox.enqueue(trx, OTA_CAMPAIGNS_V2, [
      campaignEvent(row, 'halted', now, {
        phase,
        counts: eventCounts(campaignCounts, targets),
        reason: { rule, scope: rules[rule]!.scope, failed, executed },
      }),
    ]);
    await this.audit.append(trx, campaign.tenant_id, [
      {
        action: 'ota.campaign-halted',
        actor: 'ota-distributor',
        subject: campaign.campaign_id,
        outcome: 'allowed',
        detail: { rule, phase, scope: rules[rule]!.scope, failed, executed },
      },
    ]);
    await this.revert(trx, row, now);
    await this.pausePoints.at('halt');
    return row;
  }

  /**
   * The shadow run after a twin's outcome, on a campaign locked by the caller that can still halt: a
   * final failure of any twin (retries the policy still owes aside) fails the run and halts the
   * campaign for good (SHADOW_FAILED: no abort rule, never resumed, no revert: no fleet meter was
   * notified, phase 1 never opened). The halt's state change is the once-only guard: a replay finds
   * the campaign HALTED and does nothing.
   */
  private async evaluateShadow(trx: Executor, campaign: CampaignRow, now: Date): Promise<CampaignRow> {
    const phases = await this.campaigns.phases(campaign.campaign_id, trx);
    const shadow = phases.find((p) => p.phase === SHADOW_PHASE);
    if (!shadow || (shadow.state !== 'ACTIVE' && shadow.state !== 'SOAKING')) return campaign;
    const kept = await this.campaigns.counts(campaign.campaign_id, trx);
    const pending = (await this.pendingRetries(trx, campaign)).filter((p) => p.phase === SHADOW_PHASE);
    const twinCounts = withoutPendingRetries(kept.get(SHADOW_PHASE) ?? {}, pending);
    if (shadowVerdict(shadow.targets, twinCounts) !== 'FAILED') return campaign;
    const failed = EXECUTED_STATES.filter((s) => s !== 'SUCCEEDED').reduce(
      (sum, s) => sum + (twinCounts[s] ?? 0),
      0,
    );
    await this.campaigns.setPhase(trx, campaign.campaign_id, SHADOW_PHASE, {
      state: 'FAILED',
      finishedAt: now,
    });
    const reason = { code: 'SHADOW_FAILED' as const, failed, twins: shadow.targets };
    const row = await this.campaigns.setFields(
      trx,
      campaign.campaign_id,
      { state: 'HALTED', haltReason: reason },
      now,
    );
    await this.outbox.enqueue(trx, OTA_CAMPAIGNS_V2, [
      campaignEvent(row, 'halted', now, {
        counts: eventCounts(totalCounts(kept), fleetTargets(phases)),
        shadow: {
          outcome: 'failed',
          twins: shadow.targets,
          succeeded: twinCounts.SUCCEEDED ?? 0,
          failed,
        },
      }),
    ]);
    await this.audit.append(trx, campaign.tenant_id, [
      {
        action: 'ota.campaign-halted',
        actor: 'ota-distributor',
        subject: campaign.campaign_id,
        outcome: 'allowed',
        detail: { ...reason, from: campaign.state },
      },
    ]);
    await this.pausePoints.at('halt');
    return row;
  }

  /**
   * Failures the retry policy will still retry (code named, attempts left): not final outcomes, so
   * not counted by the abort rules yet. Reads the campaign's FAILED and TIMED_OUT executions with
   * attempts left only; the domain rule decides.
   */
  private async pendingRetries(trx: Executor, campaign: CampaignRow): Promise<PendingRetry[]> {
    const policy = (campaign.body as OtaCampaignDefinition).retry;
    const max = Math.min(policy?.max ?? 0, MAX_RETRIES);
    if (!policy || max === 0 || policy.codes.length === 0) return [];
    const failed = await this.campaigns.retryCandidates(trx, campaign.campaign_id, max, null, policy.codes);
    return failed
      .filter(
        (e) =>
          e.phase !== null &&
          retryDecision(policy, {
            state: e.state,
            failureCode: e.failure_code,
            attempt: e.attempt,
            at: e.stage_entered_at ?? new Date(0),
          }).retry,
      )
      .map((e) => ({ phase: e.phase!, state: e.state }));
  }

  /**
   * A revoked manifest is never sent again: its RUNNING and PAUSED campaigns halt in the revocation's
   * transaction with reason MANIFEST_REVOKED (no admission, no retry, no directive after it; such a
   * halt never resumes), each with its `halted` event and audit record. No revert campaign: the
   * revocation is the operator's own act, what follows it is theirs to decide. Locks campaigns after
   * the executions the revocation cancelled, in the check-in's order (execution, then campaign).
   */
  async haltForRevokedManifest(
    trx: Executor,
    tenantId: string,
    manifestId: string,
    now: Date,
  ): Promise<CampaignRow[]> {
    const halted: CampaignRow[] = [];
    for (const campaign of await this.campaigns.lockRunningOfManifest(trx, tenantId, manifestId))
      halted.push(await this.haltRevoked(trx, campaign, now));
    return halted;
  }

  /**
   * One campaign (locked by the caller) halted because its manifest is revoked: state HALTED with
   * reason MANIFEST_REVOKED, its one `halted` event and audit record. Also a SCHEDULED campaign whose
   * start time came after the revocation (the ticker's start).
   */
  async haltRevoked(trx: Executor, campaign: CampaignRow, now: Date): Promise<CampaignRow> {
    const { tenant_id: tenantId, manifest_id: manifestId } = campaign;
    const reason = { code: 'MANIFEST_REVOKED' as const, manifestId };
    const row = await this.campaigns.setFields(
      trx,
      campaign.campaign_id,
      { state: 'HALTED', haltReason: { ...reason, revokedAt: now.toISOString() } },
      now,
    );
    const [counts, phases] = await Promise.all([
      this.campaigns.counts(campaign.campaign_id, trx),
      this.campaigns.phases(campaign.campaign_id, trx),
    ]);
    const targets = fleetTargets(phases);
    await this.outbox.enqueue(trx, OTA_CAMPAIGNS_V2, [
      campaignEvent(row, 'halted', now, {
        counts: eventCounts(totalCounts(counts), targets),
        haltCode: reason.code,
      }),
    ]);
    await this.audit.append(trx, tenantId, [
      {
        action: 'ota.campaign-halted',
        actor: 'ota-distributor',
        subject: campaign.campaign_id,
        outcome: 'allowed',
        detail: { ...reason, from: campaign.state },
      },
    ]);
    return row;
  }

  /**
   * revertOnHalt (spec §6.6, §7.7): a campaign for the devices this one updated or is installing on,
   * with the revert manifest, whose sequence was checked higher at creation (anti-rollback is never
   * disabled to recover), linked from the halted one. It still needs a person's approval: it waits in
   * PENDING_APPROVAL, created by the distributor, so any operator other than the distributor approves
   * it. Nothing updated or installing: no revert.
   */
  private async revert(trx: Executor, halted: CampaignRow, now: Date): Promise<void> {
    const body = halted.body as OtaCampaignDefinition;
    if (!body.revertOnHalt) return;
    const devices = await this.campaigns.exposedDevices(trx, halted.campaign_id);
    if (devices.length === 0) return;
    const manifest = await this.campaigns.acceptedManifest(
      trx,
      halted.tenant_id,
      body.revertOnHalt.manifestId,
    );
    if (!manifest || Number(manifest.sequence_number) <= Number(halted.sequence_number)) return;
    const campaignId = randomUUID();
    const { revertOnHalt: _revert, ...rest } = body;
    const revertBody: OtaCampaignDefinition = {
      ...rest,
      name: `revert ${halted.name}`.slice(0, 128),
      manifestId: manifest.manifest_id,
      target: { deviceIds: devices, dynamic: false },
      phases: [{ name: 'revert', size: { percent: 100 }, successThresholdPercent: 95, minSoakMinutes: 0 }],
    };
    const inserted = await this.campaigns.insert(
      trx,
      {
        campaignId,
        tenantId: halted.tenant_id,
        name: revertBody.name,
        manifestId: manifest.manifest_id,
        manifestDigest: manifest.digest,
        classId: manifest.class_id,
        sequenceNumber: Number(manifest.sequence_number),
        body: revertBody,
        createdBy: REVERT_ACTOR,
        phases: revertBody.phases.map((p) => ({
          name: p.name,
          size: p.size,
          successThresholdPercent: p.successThresholdPercent,
          minSoakMinutes: p.minSoakMinutes,
        })),
      },
      now,
    );
    const revert = await this.campaigns.updateState(
      trx,
      campaignId,
      'PENDING_APPROVAL',
      { submittedBy: REVERT_ACTOR },
      now,
    );
    await this.campaigns.linkRevert(trx, halted.campaign_id, campaignId);
    await this.outbox.enqueue(trx, OTA_CAMPAIGNS_V2, [
      campaignEvent(inserted, 'created', now, { actor: REVERT_ACTOR }),
      campaignEvent(revert, 'submitted', now, { actor: REVERT_ACTOR }),
      campaignEvent(halted, 'revert-created', now, { revertCampaignId: campaignId }),
    ]);
    await this.audit.append(trx, halted.tenant_id, [
      {
        action: 'ota.campaign-created',
        actor: REVERT_ACTOR,
        subject: campaignId,
        outcome: 'allowed',
        detail: {
          revertOf: halted.campaign_id,
          manifestDigest: manifest.digest,
          sequenceNumber: Number(manifest.sequence_number),
          devices: devices.length,
        },
      },
    ]);
  }
}
