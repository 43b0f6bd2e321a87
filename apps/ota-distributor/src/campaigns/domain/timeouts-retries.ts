import type { OtaExecutionState } from '@meterkeep/contracts';

/**
 * Timeouts and retries (spec §6.6). A stage times out from its entry: download from entering
 * DOWNLOADING, install from entering INSTALLING (through REBOOTING and CONFIRMING: a meter that never
 * confirms its boot times out too). A failed or timed-out attempt is retried under the same execution
 * id with the next attempt number when the policy names its failure code, at most 10 times (AWS IoT
 * Jobs' ceiling), after a backoff that doubles per retry and stops growing at a day.
 */

export const MAX_RETRIES = 10;
export const MIN_TIMEOUT_MINUTES = 1;
export const MAX_TIMEOUT_MINUTES = 7 * 24 * 60;
const MAX_BACKOFF_MINUTES = 24 * 60;

export interface TimeoutPolicy {
  downloadMinutes: number;
  installMinutes: number;
}

const INSTALL_STAGE: ReadonlySet<OtaExecutionState> = new Set(['INSTALLING', 'REBOOTING', 'CONFIRMING']);

/** When the execution's current stage times out; null for states without a timeout. */
export function timeoutDeadline(
  state: OtaExecutionState,
  stageEnteredAt: Date,
  policy: TimeoutPolicy,
): Date | null {
  const minutes =
    state === 'DOWNLOADING'
      ? policy.downloadMinutes
      : INSTALL_STAGE.has(state)
        ? policy.installMinutes
        : null;
  return minutes === null ? null : new Date(stageEnteredAt.getTime() + minutes * 60_000);
}

export function isTimedOut(
  state: OtaExecutionState,
  stageEnteredAt: Date,
  policy: TimeoutPolicy,
  now: Date,
): boolean {
  const deadline = timeoutDeadline(state, stageEnteredAt, policy);
  return deadline !== null && now.getTime() >= deadline.getTime();
}

export interface RetryPolicy {
  /** Retries after the first attempt, 0–10. */
  max: number;
  backoffMinutes: number;
  /** Failure codes retried: exact (`DIGEST_MISMATCH`), a prefix (`DOWNLOAD_*`), or `TIMED_OUT`. */
  codes: readonly string[];
}

export interface FailedAttempt {
  state: OtaExecutionState;
  failureCode: string | null;
  attempt: number;
  at: Date;
}

export type RetryDecision =
  | { retry: true; attempt: number; notBefore: Date }
  | { retry: false; reason: 'NOT_RETRYABLE_STATE' | 'CODE_NOT_RETRIED' | 'ATTEMPTS_EXHAUSTED' };

export function codeRetried(policy: RetryPolicy, code: string): boolean {
  return policy.codes.some((pattern) =>
    pattern.endsWith('*') ? code.startsWith(pattern.slice(0, -1)) : code === pattern,
  );
}

export function retryDelayMinutes(policy: RetryPolicy, retry: number): number {
  const cap = Math.max(policy.backoffMinutes, MAX_BACKOFF_MINUTES);
  return Math.min(cap, policy.backoffMinutes * 2 ** Math.min(retry - 1, 20));
}

export function retryDecision(policy: RetryPolicy, failed: FailedAttempt): RetryDecision {
  if (failed.state !== 'FAILED' && failed.state !== 'TIMED_OUT')
    return { retry: false, reason: 'NOT_RETRYABLE_STATE' };
  const code = failed.state === 'TIMED_OUT' ? 'TIMED_OUT' : failed.failureCode;
  if (code === null || !codeRetried(policy, code)) return { retry: false, reason: 'CODE_NOT_RETRIED' };
  const retry = failed.attempt; // the retry that makes attempt + 1
  if (retry > Math.min(policy.max, MAX_RETRIES)) return { retry: false, reason: 'ATTEMPTS_EXHAUSTED' };
  return {
    retry: true,
    attempt: failed.attempt + 1,
    notBefore: new Date(failed.at.getTime() + retryDelayMinutes(policy, retry) * 60_000),
  };
}

/** A FAILED or TIMED_OUT execution, as the retry pass reads it. */
export interface RetryCandidate {
  executionId: string;
  state: OtaExecutionState;
  failureCode: string | null;
  attempt: number;
  /** When its attempt ended (the stage entry of FAILED or TIMED_OUT): the backoff runs from here. */
  failedAt: Date;
}

/**
 * The automatic retries due at `now` (spec §6.6): the candidates whose failure code the policy retries,
 * with attempts left, whose backoff has run. Each is re-queued under the same id with attempt + 1.
 */
export function dueRetries(policy: RetryPolicy, candidates: readonly RetryCandidate[], now: Date): string[] {
  return candidates
    .filter((c) => {
      const decision = retryDecision(policy, {
        state: c.state,
        failureCode: c.failureCode,
        attempt: c.attempt,
        at: c.failedAt,
      });
      return decision.retry && decision.notBefore.getTime() <= now.getTime();
    })
    .map((c) => c.executionId);
}
