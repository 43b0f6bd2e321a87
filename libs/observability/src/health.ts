/** One store or dependency a service needs; ready only while every probe passes. */
export interface HealthProbe {
  readonly name: string;
  /** Resolves when the dependency answers a real request; rejects (quickly) otherwise. */
  check(): Promise<void>;
}

export interface ProbeResult {
  name: string;
  ok: boolean;
  latencyMs: number;
  error?: string;
}

/** Rejects when `promise` has not settled within `ms`, so a hung dependency cannot hang a probe. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function runProbes(probes: readonly HealthProbe[], timeoutMs = 2_000): Promise<ProbeResult[]> {
  return Promise.all(
    probes.map(async (probe) => {
      const started = performance.now();
      try {
        await withTimeout(probe.check(), timeoutMs, probe.name);
        return { name: probe.name, ok: true, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        return {
          name: probe.name,
          ok: false,
          latencyMs: Math.round(performance.now() - started),
          error: error instanceof Error ? error.message : String(error),
        };
      }
    }),
  );
}
