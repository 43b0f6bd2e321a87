/** How a failing handler is retried in place before the message is left uncommitted. */
export interface RetryPolicy {
  /** Handler calls in all, the first included. */
  attempts: number;
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, initialMs: 200, maxMs: 10_000 };

/**
 * Delay before retry number `attempt` (1 = after the first failure): exponential, capped, with
 * "equal jitter" so consumers that failed together do not retry in lockstep yet never retry at once.
 */
export function backoffDelay(
  attempt: number,
  policy: Pick<RetryPolicy, 'initialMs' | 'maxMs'>,
  random = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  const half = ceiling / 2;
  return Math.round(half + random() * half);
}

export function resolveRetryPolicy(policy: Partial<RetryPolicy> = {}): RetryPolicy {
  const resolved = { ...DEFAULT_RETRY_POLICY, ...policy };
  if (!Number.isInteger(resolved.attempts) || resolved.attempts < 1) {
    throw new Error(`retry.attempts must be a positive integer, got ${resolved.attempts}`);
  }
  if (resolved.initialMs < 0 || resolved.maxMs < resolved.initialMs) {
    throw new Error(`retry needs 0 <= initialMs <= maxMs, got ${resolved.initialMs} and ${resolved.maxMs}`);
  }
  return resolved;
}

/** Resolves after `ms`, or rejects at once when `signal` aborts (a consumer stopping mid-backoff). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal | undefined): Error {
  return signal?.reason instanceof Error ? signal.reason : new Error('aborted');
}
