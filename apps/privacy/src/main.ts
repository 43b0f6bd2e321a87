import { loadConfig } from '@meterkeep/config';
import { startServiceTelemetry } from '@meterkeep/observability';
import { runMain } from '@meterkeep/service-runtime';
import { AppModule, releaseTransport } from './app.module';
import { DEFAULT_PORT, PRIVACY_ENVIRONMENT, PrivacyConfig } from './config';
import { setupOpenApi } from './openapi/openapi';

runMain({
  name: 'privacy',
  // Tracing and metrics start before config is read and the service is built.
  telemetry: () => startServiceTelemetry('privacy'),
  build: () => {
    const config = loadConfig(PrivacyConfig);
    return {
      module: (logger) => AppModule.forRoot(config, logger),
      transports: (logger) => [releaseTransport(config, logger)],
      configure: setupOpenApi,
      port: config.PORT ?? DEFAULT_PORT,
      host: config.HOST,
      logLevel: config.LOG_LEVEL,
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      environment: PRIVACY_ENVIRONMENT,
    };
  },
});
