import { loadConfig } from '@meterkeep/config';
import { startServiceTelemetry } from '@meterkeep/observability';
import { runMain } from '@meterkeep/service-runtime';
import { AppModule, configureApp } from './app.module';
import { DEFAULT_PORT, TELEMETRY_INGEST_ENVIRONMENT, TelemetryIngestConfig } from './config';

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
