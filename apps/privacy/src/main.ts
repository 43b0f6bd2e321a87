// First: telemetry starts before the modules its instrumentations hook are loaded (see telemetry.ts).
import { telemetry } from './telemetry';
import { loadConfig } from '@meterkeep/config';
import { runMain } from '@meterkeep/service-runtime';
import { AppModule, releaseTransport } from './app.module';
import { DEFAULT_PORT, PRIVACY_ENVIRONMENT, PrivacyConfig } from './config';
import { setupOpenApi } from './openapi/openapi';

runMain({
  name: 'privacy',
  telemetry,
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
