import type { StateCounts } from './halt';
import { shadowVerdict } from './shadow';
import type { CampaignState, PhaseState } from './state-machines';

/**
 * Phase advance (spec §6.5): phase k+1 opens when phase k met its success threshold over the meters
 * that still check in, its soak time elapsed and the campaign is RUNNING; or on an explicit
 * next-phase. A meter silent for 3 × the poll interval is overdue: it leaves the denominator until it
 * reports again and is listed, so a few dead meters cannot hold a campaign, nor a vanished fleet pass
 * it (a phase whose every target is overdue never passes by itself). The last phase completes the
 * campaign by itself only once its every execution has finished, but for overdue meters.
 */

export const OVERDUE_POLL_INTERVALS = 3;

export interface PhaseMember {
  deviceId: string;
  /** Unfinished executions only can be overdue: a meter that reported success has answered. */
  finished: boolean;
  lastCheckInAt: Date | null;
}

/**
 * How often a meter's check-in is written to its projection row: at most once per this many seconds
 * (twice the poll interval, at least 30 min), never on each 304, so a fleet's polling costs few writes
 * (one in six check-ins at a 5 min poll, fewer at longer ones).
 */
export function checkInRecordSeconds(pollIntervalSeconds: number): number {
  return Math.max(2 * pollIntervalSeconds, 1_800);
}

/** Whether this check-in is to be written: none recorded yet, or the record is a full interval old. */
export function checkInRecordDue(lastRecorded: Date | null, now: Date, pollIntervalSeconds: number): boolean {
  return (
    lastRecorded === null ||
    now.getTime() - lastRecorded.getTime() >= checkInRecordSeconds(pollIntervalSeconds) * 1000
  );
}

/**
 * Members whose execution is unfinished and who have not checked in for 3 poll intervals, plus
 * `slackSeconds`: the age a coarse record may have while its meter still polls (checkInRecordSeconds).
 */
export function overdueMembers(
  members: readonly PhaseMember[],
  phaseActivatedAt: Date,
  pollIntervalSeconds: number,
  now: Date,
  slackSeconds = 0,
): string[] {
  const cutoff = now.getTime() - (OVERDUE_POLL_INTERVALS * pollIntervalSeconds + slackSeconds) * 1000;
  return (
    members
      .filter((m) => !m.finished)
      // A meter not heard since the phase opened is judged from the opening.
      .filter((m) => Math.max(m.lastCheckInAt?.getTime() ?? 0, phaseActivatedAt.getTime()) < cutoff)
      .map((m) => m.deviceId)
  );
}

export interface AdvanceInput {
  campaignState: CampaignState;
  phase: {
    state: PhaseState;
    activatedAt: Date;
    successThresholdPercent: number;
    minSoakMinutes: number;
    targets: number;
    /** SUCCEEDED and ALREADY_INSTALLED. */
    succeeded: number;
    /** Executions of the phase not yet in a final state (QUEUED … CONFIRMING). */
    unfinished: number;
    overdue: readonly string[];
    /**
     * Present when the open phase is the shadow run (its twins' counters): it passes only when every
     * twin succeeded, whatever the threshold, the soak, overdue meters or an operator's next-phase.
     */
    shadowCounts?: StateCounts;
  };
  isLastPhase: boolean;
  /** An operator's next-phase: skips threshold and soak, never the campaign's state. */
  explicit: boolean;
  now: Date;
}

export type AdvanceBlock =
  | 'CAMPAIGN_NOT_RUNNING'
  | 'PHASE_NOT_OPEN'
  | 'THRESHOLD_UNMET'
  | 'ALL_OVERDUE'
  | 'SOAKING'
  | 'SHADOW_PENDING'
  | 'LAST_PHASE_UNFINISHED';

export type AdvanceDecision =
  | {
      advance: true;
      next: 'activate-next-phase' | 'complete-campaign';
      by: 'thresholds' | 'operator';
      denominator: number;
      overdue: readonly string[];
    }
  | {
      advance: false;
      blockedBy: AdvanceBlock;
      thresholdMet: boolean;
      denominator: number;
      overdue: readonly string[];
    };

/** Whether succeeded / denominator ≥ threshold, in integers (no float rounding at the boundary). */
export function thresholdMet(succeeded: number, denominator: number, thresholdPercent: number): boolean {
  return succeeded * 10_000 >= Math.round(thresholdPercent * 100) * denominator;
}

export function decideAdvance(input: AdvanceInput): AdvanceDecision {
  const { phase, now } = input;
  const denominator = Math.max(0, phase.targets - phase.overdue.length);
  const met =
    phase.targets === 0 ||
    (denominator > 0 && thresholdMet(phase.succeeded, denominator, phase.successThresholdPercent));
  const next = input.isLastPhase ? 'complete-campaign' : 'activate-next-phase';
  const blocked = (blockedBy: AdvanceBlock): AdvanceDecision => ({
    advance: false,
    blockedBy,
    thresholdMet: met,
    denominator,
    overdue: phase.overdue,
  });
  if (input.campaignState !== 'RUNNING') return blocked('CAMPAIGN_NOT_RUNNING');
  if (phase.state !== 'ACTIVE' && phase.state !== 'SOAKING') return blocked('PHASE_NOT_OPEN');
  if (phase.shadowCounts !== undefined) {
    if (shadowVerdict(phase.targets, phase.shadowCounts) !== 'PASSED') return blocked('SHADOW_PENDING');
    return { advance: true, next, by: 'thresholds', denominator: phase.targets, overdue: [] };
  }
  if (input.explicit) return { advance: true, next, by: 'operator', denominator, overdue: phase.overdue };
  if (phase.targets > 0 && denominator === 0) return blocked('ALL_OVERDUE');
  if (!met) return blocked('THRESHOLD_UNMET');
  if (now.getTime() < phase.activatedAt.getTime() + phase.minSoakMinutes * 60_000) return blocked('SOAKING');
  // The threshold opens the next phase while the rest of this one goes on; after the last there is no
  // next, and a completed campaign notifies no one: it waits for every meter still checking in.
  if (input.isLastPhase && phase.unfinished > phase.overdue.length) return blocked('LAST_PHASE_UNFINISHED');
  return { advance: true, next, by: 'thresholds', denominator, overdue: phase.overdue };
}
