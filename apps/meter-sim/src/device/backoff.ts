const FIRST_MS = 250;

/**
 * How long a meter waits before its next attempt, after `attempt` attempts: growing exponentially
 * from 250 ms (with jitter, up to `capMs`), and never less than the server's Retry-After (with a
 * little jitter more). A meter told "retry later" again and again spreads its attempts out rather
 * than knocking every Retry-After.
 */
export function retryDelay(attempt: number, hintedMs: number, random: () => number, capMs: number): number {
  const grown = Math.min(capMs, FIRST_MS * 2 ** Math.min(attempt - 1, 30)) * (0.5 + random() * 0.5);
  const hinted = hintedMs > 0 ? hintedMs * (1 + random() * 0.2) : 0;
  return Math.max(grown, hinted);
}

/** Waits `ms` (the default `sleep` of every meter-side client; tests pass their own). */
export const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
