/**
 * Admission (spec §6.5, §7.5): an execution is notified (its directive becomes visible at the meter's
 * next check-in) only when the rollout rate and its gateway allow. The rate is a sliding 60 s window,
 * not a refilling bucket: a bucket of `maxPerMinute` tokens refilled per second lets twice the rate
 * through in some 60 s windows; the window never does. Exponential increase follows AWS IoT Jobs
 * (ExponentialRolloutRate): start at `base` per minute, multiply by `factor` each time `increaseAfter`
 * more devices were notified (or succeeded), never above `maxPerMinute`.
 */

export const ADMISSION_WINDOW_MS = 60_000;

export interface RolloutConfig {
  maxPerMinute: number;
  exponential?: {
    base: number;
    factor: number;
    increaseAfter: { notified: number } | { succeeded: number };
  };
  /** Unfinished notified executions at once per gateway (data concentrator). */
  perGatewayConcurrency: number;
}

export interface AdmissionCounts {
  notified: number;
  succeeded: number;
}

/** Notifications allowed per 60 s now. Never decreases as the counts grow. */
export function currentRate(config: RolloutConfig, counts: AdmissionCounts): number {
  const exponential = config.exponential;
  if (!exponential) return config.maxPerMinute;
  const criterion = exponential.increaseAfter;
  const reached = 'notified' in criterion ? counts.notified : counts.succeeded;
  const every = 'notified' in criterion ? criterion.notified : criterion.succeeded;
  const steps = Math.floor(reached / Math.max(1, every));
  let rate = exponential.base;
  // Step by step: factor^steps overflows long before a million devices, the cap stops it first.
  for (let i = 0; i < steps && rate < config.maxPerMinute; i++) rate *= exponential.factor;
  return Math.max(1, Math.min(config.maxPerMinute, Math.floor(rate)));
}

export interface AdmissionCandidate {
  executionId: string;
  /** Null: the meter reaches the platform directly, no concentrator to protect. */
  gatewayId: string | null;
}

export interface AdmissionInput {
  now: Date;
  config: RolloutConfig;
  counts: AdmissionCounts;
  /** Instants (ms) of earlier admissions; only the last 60 s matter. */
  recent: readonly number[];
  inFlightByGateway: ReadonlyMap<string, number>;
  /** QUEUED executions in the order their phase admits them. */
  candidates: readonly AdmissionCandidate[];
}

export interface AdmissionResult {
  admitted: string[];
  /** The admissions of the last 60 s, this call's included: the next call's `recent`. */
  recent: number[];
  rate: number;
  /** Candidates passed over because their gateway was full. */
  heldByGateway: number;
}

export function admit(input: AdmissionInput): AdmissionResult {
  const now = input.now.getTime();
  const recent = input.recent.filter((t) => t > now - ADMISSION_WINDOW_MS && t <= now);
  const rate = currentRate(input.config, input.counts);
  let tokens = rate - recent.length;
  const inFlight = new Map(input.inFlightByGateway);
  const admitted: string[] = [];
  let heldByGateway = 0;
  for (const candidate of input.candidates) {
    if (tokens <= 0) break;
    const gateway = candidate.gatewayId;
    if (gateway !== null) {
      const busy = inFlight.get(gateway) ?? 0;
      if (busy >= input.config.perGatewayConcurrency) {
        heldByGateway++;
        continue;
      }
      inFlight.set(gateway, busy + 1);
    }
    admitted.push(candidate.executionId);
    recent.push(now);
    tokens--;
  }
  return { admitted, recent, rate, heldByGateway };
}
