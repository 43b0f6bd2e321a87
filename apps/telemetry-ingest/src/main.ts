// First: telemetry starts before the modules its instrumentations hook are loaded (see telemetry.ts).
import { telemetry } from './telemetry';
import { loadConfig } from '@meterkeep/config';
import { createLogger } from '@meterkeep/observability';
import { runMain } from '@meterkeep/service-runtime';
import { AppModule, configureApp } from './app.module';
import {
  DEFAULT_PORT,
  TELEMETRY_INGEST_ENVIRONMENT,
  TelemetryIngestConfig,
  defaultInstanceId,
} from './config';
import { runWorkers } from './workers';

if (telemetry === undefined) {
  // The primary only forks and supervises (TELEMETRY_WORKERS > 1); each worker loads and checks the
  // config itself.
  runWorkers(
    Number(process.env.TELEMETRY_WORKERS),
    process.env.TELEMETRY_INSTANCE_ID ?? defaultInstanceId(),
    createLogger({ service: 'telemetry-ingest', level: process.env.LOG_LEVEL ?? 'info' }),
  );
} else {
  runMain({
    name: 'telemetry-ingest',
    telemetry,
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
