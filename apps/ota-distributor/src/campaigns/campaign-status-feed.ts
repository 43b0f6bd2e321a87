import { Injectable } from '@nestjs/common';
import { OTA_CAMPAIGNS_V2, type OtaExecutionState } from '@meterkeep/contracts';
import { AuditLog } from '../audit/audit-log';
import type { CampaignRow, Executor, ExecutionRow } from '../core/database';
import { OutboxRepository } from '../outbox/outbox.repository';
import { campaignEvent, eventCounts } from './campaign-events';
import { CampaignsRepository, totalCounts } from './campaigns.repository';
import { type AbortRule, EXECUTED_STATES, evaluateHalt, haltKey } from './domain/halt';
import { CAMPAIGN_MACHINE } from './domain/state-machines';

const EXECUTED: ReadonlySet<string> = new Set(EXECUTED_STATES);

/**
 * A campaign execution's committed status feeds its campaign (spec §6.6). The counters already moved
 * in the same transaction (the executions trigger, migration 0006); when the status is an outcome on
 * the meter, the campaign row is locked before the change (so two crossing statuses are judged one
 * after the other, each seeing the other's counts) and the abort rules evaluated on the kept counters. A crossing is
 * recorded once per (rule, phase) in campaign_halts, and only the transaction that records it halts the
 * campaign and produces the one `halted` event: a replay after a crash finds the key and does nothing.
 */
@Injectable()
export class CampaignStatusFeed {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly audit: AuditLog,
    private readonly outbox: OutboxRepository,
  ) {}

  /**
   * Before the state change: locks the campaign when the new state is an outcome, so every
   * transaction takes execution, then campaign, then counters (the check-in's order too).
   */
  async prepare(
    trx: Executor,
    execution: Pick<ExecutionRow, 'campaign_id'>,
    next: OtaExecutionState,
  ): Promise<CampaignRow | undefined> {
    if (execution.campaign_id === null || !EXECUTED.has(next)) return undefined;
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
    if (!CAMPAIGN_MACHINE.next(campaign.state, 'halt').ok) return;
    const rules = (campaign.body as { abort: AbortRule[] }).abort;
    const counts = await this.campaigns.counts(campaign.campaign_id, trx);
    const campaignCounts = totalCounts(counts);
    const recorded = new Set(
      (await this.campaigns.haltKeys(trx, campaign.campaign_id)).map((h) => haltKey(h.rule, h.phase)),
    );
    const crossing = evaluateHalt({
      rules,
      phase: execution.phase,
      phaseCounts: counts.get(execution.phase) ?? {},
      campaignCounts,
      recorded,
    });
    if (!crossing) return;
    const { rule, phase, failed, executed } = crossing;
    if (!(await this.campaigns.insertHalt(trx, campaign.campaign_id, { rule, phase, failed, executed }, now)))
      return;
    const row = await this.campaigns.setFields(
      trx,
      campaign.campaign_id,
      { state: 'HALTED', haltReason: { rule, phase, failed, executed } },
      now,
    );
    const phases = await this.campaigns.phases(campaign.campaign_id, trx);
    const targets = phases.reduce((sum, p) => sum + p.targets, 0);
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
  }
}
