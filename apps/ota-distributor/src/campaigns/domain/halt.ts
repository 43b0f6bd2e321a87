import type { OtaExecutionState } from '@meterkeep/contracts';

/**
 * Automatic halt (spec §6.6): abort rules evaluated on the campaign's counters after every committed
 * status. For a rule over its scope (the current phase or the whole campaign), `executed` counts
 * executions that reached an outcome on the meter, `failed` those whose outcome is one of the rule's
 * failure types; it crosses when executed ≥ minExecuted and (failed/executed ≥ thresholdPercent or
 * failed ≥ thresholdCount). A crossing halts once: it is keyed by rule and phase, and a key already
 * recorded never halts again (a replay after a crash, or the same rule still crossed after an
 * acknowledged resume in that phase).
 *
 * Only final outcomes count (as AWS IoT Jobs' abort criteria count a job's final state): a failure the
 * retry policy will retry is still on its way, so it is taken out of both `failed` and `executed`
 * (withoutPendingRetries) until its last attempt fails.
 */

export const ABORT_FAILURE_TYPES = ['FAILED', 'REJECTED', 'ROLLED_BACK', 'TIMED_OUT'] as const;
export type AbortFailureType = (typeof ABORT_FAILURE_TYPES)[number];

/** Outcomes on the meter. CANCELLED and REMOVED are the platform's doing, not the firmware's. */
export const EXECUTED_STATES = [
  'SUCCEEDED',
  'ALREADY_INSTALLED',
  ...ABORT_FAILURE_TYPES,
] as const satisfies readonly OtaExecutionState[];

export interface AbortRule {
  scope: 'phase' | 'campaign';
  failureTypes: readonly AbortFailureType[];
  thresholdPercent?: number;
  thresholdCount?: number;
  minExecuted: number;
}

export type StateCounts = Partial<Record<OtaExecutionState, number>>;

export interface HaltInput {
  rules: readonly AbortRule[];
  /** 1-based index of the phase whose statuses are counted in `phaseCounts`. */
  phase: number;
  phaseCounts: StateCounts;
  campaignCounts: StateCounts;
  /** Keys of crossings already recorded (see haltKey). */
  recorded: ReadonlySet<string>;
}

export interface HaltCrossing {
  /** The rule's position in the campaign's abort list: its stable id. */
  rule: number;
  phase: number;
  key: string;
  failed: number;
  executed: number;
}

export const haltKey = (rule: number, phase: number) => `abort-${rule}:phase-${phase}`;

const sum = (counts: StateCounts, states: readonly OtaExecutionState[]) =>
  states.reduce((total, state) => total + (counts[state] ?? 0), 0);

export function ruleCrossed(
  rule: AbortRule,
  counts: StateCounts,
): { crossed: boolean; failed: number; executed: number } {
  const executed = sum(counts, EXECUTED_STATES);
  const failed = sum(counts, rule.failureTypes);
  const byPercent =
    rule.thresholdPercent !== undefined &&
    executed > 0 &&
    failed * 10_000 >= Math.round(rule.thresholdPercent * 100) * executed;
  const byCount = rule.thresholdCount !== undefined && failed >= rule.thresholdCount;
  return { crossed: executed >= rule.minExecuted && (byPercent || byCount), failed, executed };
}

/** The first rule crossing that has not halted the campaign yet, or null. */
export function evaluateHalt(input: HaltInput): HaltCrossing | null {
  for (const [index, rule] of input.rules.entries()) {
    const key = haltKey(index, input.phase);
    if (input.recorded.has(key)) continue;
    const counts = rule.scope === 'phase' ? input.phaseCounts : input.campaignCounts;
    const { crossed, failed, executed } = ruleCrossed(rule, counts);
    if (crossed) return { rule: index, phase: input.phase, key, failed, executed };
  }
  return null;
}

/** A FAILED or TIMED_OUT execution the retry policy will still retry, in its phase. */
export interface PendingRetry {
  phase: number;
  state: OtaExecutionState;
}

/** The counts without the failures still to be retried: not outcomes yet. */
export function withoutPendingRetries(counts: StateCounts, pending: readonly PendingRetry[]): StateCounts {
  const result: StateCounts = { ...counts };
  for (const p of pending) result[p.state] = Math.max(0, (result[p.state] ?? 0) - 1);
  return result;
}
