// First: telemetry starts before the modules its instrumentations hook are loaded (see telemetry.ts).
import { telemetry } from './telemetry';
import { loadConfig } from '@meterkeep/config';
import { runMain } from '@meterkeep/service-runtime';
import { AppModule, deviceEventsTransport } from './app.module';
import { DEFAULT_PORT, OTA_DISTRIBUTOR_ENVIRONMENT, OtaDistributorConfig } from './config';
import { configureHttp } from './configure-http';

runMain({
  name: 'ota-distributor',
  telemetry,
  build: () => {
    const config = loadConfig(OtaDistributorConfig);
    return {
      module: (logger) => AppModule.forRoot(config, logger),
      transports: (logger) => [deviceEventsTransport(config, logger)],
      configure: configureHttp,
      port: config.PORT ?? DEFAULT_PORT,
      host: config.HOST,
      logLevel: config.LOG_LEVEL,
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      environment: OTA_DISTRIBUTOR_ENVIRONMENT,
    };
  },
});
