import cluster from 'node:cluster';
import { loadConfig } from '@meterkeep/config';
import { createLogger, startServiceTelemetry } from '@meterkeep/observability';
import { runMain } from '@meterkeep/service-runtime';
import { AppModule, configureApp } from './app.module';
import {
  DEFAULT_PORT,
  TELEMETRY_INGEST_ENVIRONMENT,
  TelemetryIngestConfig,
  defaultInstanceId,
} from './config';
import { runWorkers } from './workers';

const workers = Number(process.env.TELEMETRY_WORKERS ?? 1);
if (cluster.isPrimary && Number.isInteger(workers) && workers > 1) {
  // The primary only forks and supervises; each worker loads and checks the config itself.
  runWorkers(
    workers,
    process.env.TELEMETRY_INSTANCE_ID ?? defaultInstanceId(),
    createLogger({ service: 'telemetry-ingest', level: process.env.LOG_LEVEL ?? 'info' }),
  );
} else {
  runMain({
    name: 'telemetry-ingest',
    // Tracing and metrics start before config is read and the service is built.
    telemetry: () => startServiceTelemetry('telemetry-ingest'),
    build: () => {
      const config = loadConfig(TelemetryIngestConfig);
      return {
        module: (logger) => AppModule.forRoot(config, logger),
        configure: configureApp,
        port: config.PORT ?? DEFAULT_PORT,
        host: config.HOST,
        logLevel: config.LOG_LEVEL,
        shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
        environment: TELEMETRY_INGEST_ENVIRONMENT,
      };
    },
  });
}
