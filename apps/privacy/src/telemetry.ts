import { telemetryFirst } from '@meterkeep/observability';

/**
 * Tracing and metrics, started as main.ts loads this module, its first import: the instrumentations
 * hook http, pg, ioredis and the AWS SDK only if they start before those modules are required.
 */
export const telemetry = telemetryFirst('privacy');
