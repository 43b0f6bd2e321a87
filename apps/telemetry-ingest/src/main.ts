import { loadConfig } from '@meterkeep/config';
import { startServiceTelemetry } from '@meterkeep/observability';
import { runMain } from '@meterkeep/service-runtime';
import { AppModule } from './app.module';
import { TelemetryIngestConfig, DEFAULT_PORT } from './config';

runMain({
  name: 'telemetry-ingest',
  // Tracing and metrics start before config is read and the service is built.
  telemetry: () => startServiceTelemetry('telemetry-ingest'),
  build: () => {
    const config = loadConfig(TelemetryIngestConfig);
    return {
      module: (logger) => AppModule.forRoot(config, logger),
      port: config.PORT ?? DEFAULT_PORT,
      host: config.HOST,
      logLevel: config.LOG_LEVEL,
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      environment: Object.keys(TelemetryIngestConfig.shape),
    };
  },
});
