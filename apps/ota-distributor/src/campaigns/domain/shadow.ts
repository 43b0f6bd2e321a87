import type { StateCounts } from './halt';

/**
 * The shadow run (spec §6 item 3): before phase 1, the campaign's real signed manifest and image go
 * to twins the operator keeps, at least one per hardware revision among the targets. The twins are
 * the campaign's phase 0 (never a target, never in a phase's counters); phase 1 opens only when
 * every twin SUCCEEDED, and any twin's final failure halts the campaign for good.
 */

/** The twins' phase: before the operator's phases, which are 1-based. */
export const SHADOW_PHASE = 0;

/** A twin's outcome that fails the run (ALREADY_INSTALLED proves nothing about this image's install). */
const SHADOW_FAILURES = ['FAILED', 'REJECTED', 'ROLLED_BACK', 'TIMED_OUT', 'ALREADY_INSTALLED'] as const;

export type ShadowVerdict = 'PASSED' | 'FAILED' | 'PENDING';

/**
 * The run's verdict from its twins' counters (failures the retry policy will retry already taken
 * out): FAILED on any failure, PASSED only when every twin SUCCEEDED (a receipt proved it booted and
 * confirmed), PENDING otherwise. CANCELLED and REMOVED twins never pass it either.
 */
export function shadowVerdict(twins: number, counts: StateCounts): ShadowVerdict {
  if (SHADOW_FAILURES.some((s) => (counts[s] ?? 0) > 0)) return 'FAILED';
  if (twins > 0 && (counts.SUCCEEDED ?? 0) === twins) return 'PASSED';
  return 'PENDING';
}

/** The targets' hardware revisions no twin reported (null: targets that never reported one). */
export function shadowCoverage(
  targetRevisions: readonly (string | null)[],
  twinRevisions: readonly (string | null)[],
): { covered: (string | null)[]; missing: (string | null)[] } {
  const twins = new Set(twinRevisions);
  const needed = [...new Set(targetRevisions)].sort(byRevision);
  return { covered: needed.filter((r) => twins.has(r)), missing: needed.filter((r) => !twins.has(r)) };
}

const byRevision = (a: string | null, b: string | null) =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1;

/** Whether the run's unfinished twins are overdue: the run lasted longer than its timeout. */
export function shadowTimedOut(activatedAt: Date, timeoutSeconds: number, now: Date): boolean {
  return now.getTime() - activatedAt.getTime() > timeoutSeconds * 1000;
}

/** A twin as the projection holds it. */
export interface TwinRecord {
  device_id: string;
  class_id: string | null;
  state: string;
}

/**
 * The named twins fit to run: ACTIVE meters of the campaign's class. The rest are unknown (another
 * tenant's, another class's or no meter at all answer alike: nothing to probe).
 */
export function fitTwins<T extends TwinRecord>(
  classId: string,
  twins: readonly string[],
  records: readonly T[],
): { fit: T[]; unknown: string[] } {
  const fit = records.filter((t) => t.class_id === classId && t.state === 'ACTIVE');
  const known = new Set(fit.map((t) => t.device_id));
  return { fit, unknown: twins.filter((id) => !known.has(id)) };
}
