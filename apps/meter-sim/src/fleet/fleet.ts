import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BootstrapClient, type BootstrapOptions } from '../device/bootstrap-client';
import { isFactoryLocked, storedBundle } from '../device/factory-port';
import { MeterStorage } from '../device/meter-storage';

export interface FleetMeter {
  endpointName: string;
  client: BootstrapClient;
  /** The meter's non-volatile memory. */
  storage: MeterStorage;
}

/** The provisioned, finalised meters under a state folder (as `meter-sim provision` left them). */
export function loadFleet(
  stateDir: string,
  options: BootstrapOptions & { limit?: number } = {},
): FleetMeter[] {
  const meters: FleetMeter[] = [];
  for (const name of readdirSync(stateDir).sort()) {
    if (options.limit !== undefined && meters.length >= options.limit) break;
    const storage = new MeterStorage(join(stateDir, name));
    if (!isFactoryLocked(storage)) continue;
    meters.push({
      endpointName: name,
      client: new BootstrapClient(storedBundle(storage), storage, options),
      storage,
    });
  }
  return meters;
}

export interface FleetRunReport {
  succeeded: number;
  failed: { endpointName: string; error: string }[];
  elapsedMs: number;
  /** Per-meter latencies in ms, sorted. */
  latenciesMs: number[];
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Runs `action` for every meter, at most `concurrency` at a time, as a fleet coming online does. */
export async function runFleet(
  meters: readonly FleetMeter[],
  concurrency: number,
  action: (meter: FleetMeter) => Promise<unknown>,
  onProgress?: (done: number) => void,
): Promise<FleetRunReport> {
  const started = performance.now();
  const report: FleetRunReport = { succeeded: 0, failed: [], elapsedMs: 0, latenciesMs: [] };
  let next = 0;
  const worker = async () => {
    while (next < meters.length) {
      const meter = meters[next++]!;
      const t0 = performance.now();
      try {
        await action(meter);
        report.succeeded += 1;
        report.latenciesMs.push(performance.now() - t0);
      } catch (error) {
        report.failed.push({ endpointName: meter.endpointName, error: (error as Error).message });
      }
      onProgress?.(report.succeeded + report.failed.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, meters.length)) }, worker));
  report.elapsedMs = performance.now() - started;
  report.latenciesMs.sort((a, b) => a - b);
  return report;
}
