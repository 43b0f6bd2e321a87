// First: telemetry starts before the modules its instrumentations hook are loaded (see telemetry.ts).
import { telemetry } from './telemetry';
import { loadConfig } from '@meterkeep/config';
import { runMain } from '@meterkeep/service-runtime';
import { AppModule, configureApp, lifecycleTransport } from './app.module';
import { BOOTSTRAP_ENVIRONMENT, BootstrapConfig, DEFAULT_PORT } from './config';

runMain({
  name: 'bootstrap',
  telemetry,
  build: () => {
    const config = loadConfig(BootstrapConfig);
    return {
      module: (logger) => AppModule.forRoot(config, logger),
      transports: (logger) => [lifecycleTransport(config, logger)],
      configure: configureApp,
      port: config.PORT ?? DEFAULT_PORT,
      host: config.HOST,
      logLevel: config.LOG_LEVEL,
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      environment: BOOTSTRAP_ENVIRONMENT,
    };
  },
});
