export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Said in the error when the condition never held. */
  description?: string;
}

/** Thrown by a probe when waiting longer cannot help (the process died): waitUntil rethrows it at once. */
export class WaitAborted extends Error {
  override name = 'WaitAborted';
}

/**
 * Polls until `probe` returns a value other than undefined/false (or stops throwing), instead of a sleep.
 * Returns that value; throws with the last error when the time runs out.
 */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 15_000, intervalMs = 100, description = 'condition' }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (error instanceof WaitAborted) throw error;
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}${cause}`, {
        cause: lastError,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
