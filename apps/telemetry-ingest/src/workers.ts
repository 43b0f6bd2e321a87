import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '@meterkeep/observability';

const RESTART_DELAY_MS = 1_000;

/**
 * The primary of a replica that runs `count` worker processes on the same ports (node:cluster hands
 * each connection to one of them). Worker n gets the transactional id `<instance>-w<n>`, the same
 * after a restart, so it fences the process it replaces. SIGTERM is passed on to every worker; the
 * primary exits 0 once all have exited 0.
 */
export function runWorkers(count: number, instanceId: string, logger: Logger): void {
  let stopping = false;
  const workers = new Map<number, Worker>();
  const failed = new Set<number>();

  const start = (index: number) => {
    const worker = cluster.fork({
      TELEMETRY_INSTANCE_ID: `${instanceId}-w${index}`,
      TELEMETRY_WORKERS: '1',
      ...workerMetricsPort(index),
    });
    workers.set(index, worker);
    worker.once('exit', (code, signal) => {
      workers.delete(index);
      if (stopping) {
        // A worker still starting dies of the signal itself: it had nothing to drain.
        if (code !== 0 && signal !== 'SIGTERM') failed.add(index);
        if (workers.size === 0) process.exit(failed.size === 0 ? 0 : 1);
        return;
      }
      logger.error({ worker: index, code, signal }, 'worker exited; starting it again');
      setTimeout(() => start(index), RESTART_DELAY_MS).unref();
    });
  };

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, workers: workers.size }, 'stopping workers');
    if (workers.size === 0) process.exit(0);
    for (const worker of workers.values()) worker.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  logger.info({ workers: count, instanceId }, 'starting workers');
  for (let index = 0; index < count; index++) start(index);
}

/**
 * Each worker keeps its own metrics: on a port of its own (METRICS_PORT + n), since a port shared
 * through node:cluster would answer each scrape from whichever worker took the connection.
 */
export function workerMetricsPort(index: number, env = process.env): { METRICS_PORT?: string } {
  const base = Number(env.METRICS_PORT);
  return env.METRICS_PORT && Number.isInteger(base) && base > 0 ? { METRICS_PORT: String(base + index) } : {};
}
