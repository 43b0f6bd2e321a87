/**
 * Admission (spec §6.5, §7.5): an execution is notified (its directive becomes visible at the meter's
 * next check-in) only when the rollout rate and its gateway allow. The rate is a sliding 60 s window,
 * not a refilling bucket: a bucket of `maxPerMinute` tokens refilled per second lets twice the rate
 * through in some 60 s windows; the window never does. Exponential increase follows AWS IoT Jobs
 * (ExponentialRolloutRate): start at `base` per minute, multiply by `factor` each time `increaseAfter`
 * more devices were notified (or succeeded), never above `maxPerMinute`. A gateway's byte budget is a
 * sliding hour the same way; a meter whose download alone exceeds it is held, never let through.
 */

export const ADMISSION_WINDOW_MS = 60_000;
export const BYTES_WINDOW_MS = 3_600_000;

export interface RolloutConfig {
  maxPerMinute: number;
  exponential?: {
    base: number;
    factor: number;
    increaseAfter: { notified: number } | { succeeded: number };
  };
  /** Unfinished notified executions at once per gateway (data concentrator). */
  perGatewayConcurrency: number;
  /** Bytes a gateway's admitted meters may be sent in any hour (the cell's backhaul budget). */
  perGatewayBytesPerHour?: number;
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
  /** What the meter will download (delta or full image); counted against the gateway's byte budget. */
  bytes?: number;
}

/** One admission's bytes through a gateway, for the hourly budget. */
export interface GatewayBytes {
  at: number;
  bytes: number;
}

/**
 * What other campaigns sharing a gateway allow there: a gateway is one backhaul whoever loads it, so
 * its in-flight and bytes count every campaign's meters behind it, and the strictest limit of the
 * campaigns with unfinished meters behind it binds them all.
 */
export interface GatewayLimit {
  concurrency: number;
  bytesPerHour?: number;
}

/** A gateway's concurrency and byte budget now: this campaign's, narrowed by the others' sharing it. */
export function gatewayLimit(
  config: RolloutConfig,
  shared: ReadonlyMap<string, GatewayLimit> | undefined,
  gateway: string,
): GatewayLimit {
  const other = shared?.get(gateway);
  const budgets = [config.perGatewayBytesPerHour, other?.bytesPerHour].filter(
    (b): b is number => b !== undefined,
  );
  return {
    concurrency: Math.min(config.perGatewayConcurrency, other?.concurrency ?? Number.POSITIVE_INFINITY),
    ...(budgets.length > 0 && { bytesPerHour: Math.min(...budgets) }),
  };
}

export interface AdmissionInput {
  now: Date;
  config: RolloutConfig;
  /** Limits of the other campaigns sharing a gateway (see GatewayLimit); none: this campaign's own. */
  gatewayLimits?: ReadonlyMap<string, GatewayLimit>;
  counts: AdmissionCounts;
  /** Instants (ms) of earlier admissions; only the last 60 s matter. */
  recent: readonly number[];
  inFlightByGateway: ReadonlyMap<string, number>;
  /** QUEUED executions in the order their phase admits them. */
  candidates: readonly AdmissionCandidate[];
  /** Bytes admitted per gateway; only the last hour matters. */
  gatewayBytes?: ReadonlyMap<string, readonly GatewayBytes[]>;
}

export interface AdmissionResult {
  admitted: string[];
  /** The admissions of the last 60 s, this call's included: the next call's `recent`. */
  recent: number[];
  rate: number;
  /** Candidates passed over because their gateway was full. */
  heldByGateway: number;
  /** Candidates passed over because their gateway's byte budget for the hour was spent. */
  heldByBytes: number;
  /** The last hour's bytes per gateway, this call's included: the next call's `gatewayBytes`. */
  gatewayBytes: Map<string, GatewayBytes[]>;
}

export function admit(input: AdmissionInput): AdmissionResult {
  const now = input.now.getTime();
  const recent = input.recent.filter((t) => t > now - ADMISSION_WINDOW_MS && t <= now);
  const rate = currentRate(input.config, input.counts);
  let tokens = rate - recent.length;
  const inFlight = new Map(input.inFlightByGateway);
  const gatewayBytes = new Map<string, GatewayBytes[]>();
  for (const [gateway, entries] of input.gatewayBytes ?? [])
    gatewayBytes.set(
      gateway,
      entries.filter((e) => e.at > now - BYTES_WINDOW_MS && e.at <= now),
    );
  const spent = (gateway: string) => (gatewayBytes.get(gateway) ?? []).reduce((sum, e) => sum + e.bytes, 0);
  const admitted: string[] = [];
  let heldByGateway = 0;
  let heldByBytes = 0;
  for (const candidate of input.candidates) {
    if (tokens <= 0) break;
    const gateway = candidate.gatewayId;
    if (gateway !== null) {
      const busy = inFlight.get(gateway) ?? 0;
      const limit = gatewayLimit(input.config, input.gatewayLimits, gateway);
      const budget = limit.bytesPerHour;
      if (busy >= limit.concurrency) {
        heldByGateway++;
        continue;
      }
      const bytes = candidate.bytes ?? 0;
      if (budget !== undefined && spent(gateway) + bytes > budget) {
        heldByBytes++;
        continue;
      }
      inFlight.set(gateway, busy + 1);
      if (budget !== undefined)
        gatewayBytes.set(gateway, [...(gatewayBytes.get(gateway) ?? []), { at: now, bytes }]);
    }
    admitted.push(candidate.executionId);
    recent.push(now);
    tokens--;
  }
  return { admitted, recent, rate, heldByGateway, heldByBytes, gatewayBytes };
}

export interface GatewayLoad {
  now: Date;
  config: RolloutConfig;
  gatewayLimits?: ReadonlyMap<string, GatewayLimit>;
  inFlightByGateway: ReadonlyMap<string, number>;
  gatewayBytes?: ReadonlyMap<string, readonly GatewayBytes[]>;
  /** What one more meter would download. */
  bytesPerDevice: number;
}

/**
 * Gateways that can take no meter now: at their concurrency, or whose hour's bytes leave no room for
 * one more download. Their queued members need not even be read: `admit` would pass every one over.
 */
export function closedGateways(load: GatewayLoad): string[] {
  const now = load.now.getTime();
  const closed = new Set<string>();
  const limit = (gateway: string) => gatewayLimit(load.config, load.gatewayLimits, gateway);
  for (const [gateway, busy] of load.inFlightByGateway)
    if (busy >= limit(gateway).concurrency) closed.add(gateway);
  for (const [gateway, entries] of load.gatewayBytes ?? []) {
    const budget = limit(gateway).bytesPerHour;
    if (budget !== undefined) {
      const spent = entries
        .filter((e) => e.at > now - BYTES_WINDOW_MS && e.at <= now)
        .reduce((sum, e) => sum + e.bytes, 0);
      if (spent + load.bytesPerDevice > budget) closed.add(gateway);
    }
  }
  return [...closed].sort();
}
