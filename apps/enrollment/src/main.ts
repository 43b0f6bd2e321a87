import { loadConfig } from '@meterkeep/config';
import { startServiceTelemetry } from '@meterkeep/observability';
import { runMain } from '@meterkeep/service-runtime';
import { AppModule, lifecycleTransport } from './app.module';
import { DEFAULT_PORT, ENROLLMENT_ENVIRONMENT, EnrollmentConfig } from './config';
import { setupOpenApi } from './openapi/openapi';

runMain({
  name: 'enrollment',
  // Tracing and metrics start before config is read and the service is built.
  telemetry: () => startServiceTelemetry('enrollment'),
  build: () => {
    const config = loadConfig(EnrollmentConfig);
    return {
      module: (logger) => AppModule.forRoot(config, logger),
      transports: (logger) => [lifecycleTransport(config, logger)],
      configure: setupOpenApi,
      port: config.PORT ?? DEFAULT_PORT,
      host: config.HOST,
      logLevel: config.LOG_LEVEL,
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      environment: ENROLLMENT_ENVIRONMENT,
    };
  },
});
