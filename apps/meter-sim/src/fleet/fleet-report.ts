import { type RejectedItem, TELEMETRY_MAX_READINGS } from '@meterkeep/contracts';
import { addDays, checkDay, readingsIn } from '../telemetry/interval-data';
import { reportMeter } from '../telemetry/report-meter';
import { TelemetryStats } from '../telemetry/telemetry-client';
import { loadFleet, runFleet } from './fleet';

export const DEFAULT_BATCH_SIZE = 500;
export const MIN_BATCH_SIZE = 100;

export interface FleetReportOptions {
  /** The meters' folder (from `meter-sim provision`, then `fleet bootstrap`). */
  stateDir: string;
  days: number;
  /** First UTC day, YYYY-MM-DD; default `days` days before today, so the last day sent is yesterday. */
  from?: string;
  /** Readings per batch, 100..1000 (default 500). */
  batchSize?: number;
  /** Meters sending at once (default 50). */
  concurrency?: number;
  /** Readings per second for the whole fleet, at most; no limit when absent. */
  rate?: number;
  /** Instead of the telemetry URI each meter got from bootstrap. */
  telemetryUri?: string;
  /** Only the first N meters of the folder. */
  limit?: number;
  /** For a meter sent back to bootstrap: instead of its bundle's bootstrap URI. */
  bootstrapUrl?: string;
  /** How long a batch (and a fallback bootstrap) keeps being retried (default 60 s). */
  retryForMs?: number;
  /** Nothing measured after this is sent; default now. */
  until?: Date;
  /** Stop starting batches after this long (a benchmark's fixed duration); every day is sent when absent. */
  durationMs?: number;
  onProgress?: (progress: FleetReportProgress) => void;
  /** How often onProgress is called, besides once at the end (default 5 s). */
  progressEveryMs?: number;
}

export interface FleetReportProgress {
  metersDone: number;
  meters: number;
  readingsSent: number;
  readingsTotal: number;
  readingsPerSecond: number;
  /** Seconds left at the current rate; NaN before the first batch. */
  etaSeconds: number;
}

export interface FleetReportSummary {
  verb: 'report';
  from: string;
  days: number;
  batchSize: number;
  /** Meters that sent (or tried to): provisioned and bootstrapped. */
  meters: number;
  /** Provisioned meters left out because they hold no operational credential. */
  notBootstrapped: number;
  succeeded: number;
  failed: number;
  batches: number;
  replayed: number;
  readings: number;
  events: number;
  /** Items (readings and events) the ingest says it wrote, for a replay the first time. */
  accepted: number;
  duplicates: number;
  rejected: number;
  retries: number;
  rebootstrapped: number;
  readingsPerSecond: number;
  /** Batch answer latency, ms. */
  p50Ms: number;
  p99Ms: number;
  elapsedMs: number;
  failures: { endpointName: string; error: string }[];
  rejections: (RejectedItem & { batchId: string })[];
}

/** The options with their defaults, or a RangeError naming the one that is wrong. */
export function checkReportOptions(options: FleetReportOptions): {
  batchSize: number;
  from: string;
  until: Date;
} {
  if (!Number.isInteger(options.days) || options.days < 1)
    throw new RangeError(`--days is a positive whole number (asked ${options.days})`);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < MIN_BATCH_SIZE || batchSize > TELEMETRY_MAX_READINGS)
    throw new RangeError(
      `--batch-size is ${MIN_BATCH_SIZE} to ${TELEMETRY_MAX_READINGS} readings (asked ${batchSize})`,
    );
  if (options.rate !== undefined && !(options.rate > 0))
    throw new RangeError(`--rate is a positive number of readings a second (asked ${options.rate})`);
  const until = options.until ?? new Date();
  const from = options.from ?? addDays(until.toISOString().slice(0, 10), -options.days);
  checkDay(from);
  return { batchSize, from, until };
}

/**
 * The provisioned and bootstrapped meters of a folder send their interval data for some days, C at
 * a time, each over its own mutual-TLS connection, each meter's days made as they are sent (memory
 * stays bounded whatever the fleet and the days). For benchmarks and demos as much as for the CLI.
 */
export async function reportFleet(options: FleetReportOptions): Promise<FleetReportSummary> {
  const { batchSize, from, until } = checkReportOptions(options);
  const retryForMs = options.retryForMs ?? 60_000;
  const fleet = loadFleet(options.stateDir, {
    limit: options.limit,
    bootstrapUrl: options.bootstrapUrl,
    retryForMs,
  });
  const meters = fleet.filter((meter) => meter.client.operational() !== undefined);

  const stats = new TelemetryStats();
  const throttle = options.rate === undefined ? undefined : pace(options.rate);
  const readingsTotal = readingsIn(from, options.days, { until }) * meters.length;
  const totals = { readings: 0, events: 0, rebootstrapped: 0, metersDone: 0 };
  const started = performance.now();
  const stopAt = options.durationMs === undefined ? undefined : Date.now() + options.durationMs;
  const progress = (): FleetReportProgress => {
    const perSecond = (totals.readings / (performance.now() - started)) * 1000;
    return {
      metersDone: totals.metersDone,
      meters: meters.length,
      readingsSent: totals.readings,
      readingsTotal,
      readingsPerSecond: Math.round(perSecond),
      etaSeconds: perSecond > 0 ? Math.round((readingsTotal - totals.readings) / perSecond) : Number.NaN,
    };
  };
  const timer =
    options.onProgress &&
    setInterval(() => options.onProgress!(progress()), options.progressEveryMs ?? 5_000);
  timer?.unref();

  const run = await runFleet(
    meters,
    options.concurrency ?? 50,
    async ({ endpointName, client }) => {
      const report = await reportMeter(endpointName, client, {
        from,
        days: options.days,
        batchSize,
        telemetryUri: options.telemetryUri,
        until,
        stats,
        deadlineMs: retryForMs,
        throttle,
        stopAt,
        onBatch: (batch) => {
          totals.readings += batch.readings.length;
          totals.events += batch.events.length;
        },
      });
      if (report.rebootstrapped) totals.rebootstrapped += 1;
    },
    (done) => (totals.metersDone = done),
  );
  clearInterval(timer);
  options.onProgress?.(progress());

  return {
    verb: 'report',
    from,
    days: options.days,
    batchSize,
    meters: meters.length,
    notBootstrapped: fleet.length - meters.length,
    succeeded: run.succeeded,
    failed: run.failed.length,
    batches: stats.batches,
    replayed: stats.replayed,
    readings: totals.readings,
    events: totals.events,
    accepted: stats.accepted,
    duplicates: stats.duplicates,
    rejected: stats.rejected,
    retries: stats.retries,
    rebootstrapped: totals.rebootstrapped,
    readingsPerSecond: Math.round((totals.readings / run.elapsedMs) * 1000),
    p50Ms: round1(stats.latency.percentile(50)),
    p99Ms: round1(stats.latency.percentile(99)),
    elapsedMs: Math.round(run.elapsedMs),
    failures: run.failed.slice(0, 20),
    rejections: stats.rejections,
  };
}

const round1 = (ms: number) => Math.round(ms * 10) / 10;

/** A fleet-wide pace: each caller waits its turn for its readings, `rate` readings a second in all. */
export function pace(rate: number, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))) {
  if (!(rate > 0)) throw new RangeError('the rate is a positive number of readings a second');
  let nextAt = performance.now();
  return async (readings: number): Promise<void> => {
    const at = Math.max(nextAt, performance.now());
    nextAt = at + (readings / rate) * 1000;
    const wait = at - performance.now();
    if (wait > 0) await sleep(wait);
  };
}
