import type { BootstrapClient } from '../device/bootstrap-client';
import { type GeneratedBatch, MeterProfile, meterDays, telemetryBatches } from './interval-data';
import {
  TelemetryClient,
  type TelemetryClientOptions,
  TelemetryError,
  type TelemetryStats,
} from './telemetry-client';

export interface MeterReportOptions extends Pick<
  TelemetryClientOptions,
  'deadlineMs' | 'maxRetryAfterMs' | 'timeoutMs' | 'sleep' | 'random'
> {
  /** First UTC day, YYYY-MM-DD. */
  from: string;
  days: number;
  /** Readings per batch (at most TELEMETRY_MAX_READINGS). */
  batchSize: number;
  /** Instead of the telemetry URI bootstrap gave (tests, another route to the same ingest). */
  telemetryUri?: string;
  /** Nothing measured after this is sent; default now. */
  until?: Date;
  /** Shared by a fleet's meters. */
  stats: TelemetryStats;
  /** Resolves when the meter may send this many readings (a fleet-wide throttle). */
  throttle?: (readings: number) => Promise<void>;
  /** After each answered batch. */
  onBatch?: (batch: GeneratedBatch) => void;
  /** Epoch ms after which no new batch is started (a run of fixed duration). */
  stopAt?: number;
}

export interface MeterReport {
  batches: number;
  readings: number;
  events: number;
  /** The ingest refused the operational credential, and the meter bootstrapped again. */
  rebootstrapped: boolean;
}

/**
 * One meter sends its interval data for some days, batch after batch over one connection, its data
 * made a day at a time. When the ingest refuses its credential (revoked, not active), the meter falls
 * back to bootstrap with its factory identity, as a real one does, and tries the batch once more.
 */
export async function reportMeter(
  endpointName: string,
  bootstrap: BootstrapClient,
  options: MeterReportOptions,
): Promise<MeterReport> {
  const connect = () => {
    const tls = bootstrap.operationalTls();
    const uri = options.telemetryUri ?? bootstrap.operational()?.servers.telemetry.uri;
    if (!tls || !uri) throw new Error(`${endpointName} has no operational credential: bootstrap it first`);
    const { deadlineMs, maxRetryAfterMs, timeoutMs, sleep, random, stats } = options;
    return new TelemetryClient({
      uri,
      credential: tls,
      stats,
      deadlineMs,
      maxRetryAfterMs,
      timeoutMs,
      sleep,
      random,
    });
  };
  const report: MeterReport = { batches: 0, readings: 0, events: 0, rebootstrapped: false };
  let client = connect();
  try {
    const days = meterDays(new MeterProfile(endpointName), options.from, options.days, {
      until: options.until ?? new Date(),
    });
    for (const batch of telemetryBatches(days, options.batchSize)) {
      if (options.stopAt !== undefined && Date.now() >= options.stopAt) break;
      await options.throttle?.(batch.readings.length);
      try {
        await client.send(batch);
      } catch (error) {
        const refused = error instanceof TelemetryError && error.code === 'CREDENTIAL_REFUSED';
        if (!refused || report.rebootstrapped) throw error;
        client.close();
        await bootstrap.bootstrap();
        report.rebootstrapped = true;
        client = connect();
        await client.send(batch);
      }
      report.batches += 1;
      report.readings += batch.readings.length;
      report.events += batch.events.length;
      options.onBatch?.(batch);
    }
  } finally {
    client.close();
  }
  return report;
}
