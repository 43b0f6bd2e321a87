import cluster from 'node:cluster';
import { telemetryFirst } from '@meterkeep/observability';

const workers = Number(process.env.TELEMETRY_WORKERS ?? 1);

/**
 * Whether this process only forks and supervises workers (TELEMETRY_WORKERS > 1): it serves nothing,
 * and each worker starts its own telemetry (its metrics port is METRICS_PORT + n).
 */
const supervisesWorkers = cluster.isPrimary && Number.isInteger(workers) && workers > 1;

/**
 * Tracing and metrics of a serving process, started as main.ts loads this module, its first import: the
 * instrumentations hook http, pg, ioredis and the AWS SDK only if they start before those modules load.
 */
export const telemetry = supervisesWorkers ? undefined : telemetryFirst('telemetry-ingest');
