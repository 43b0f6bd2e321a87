import { loadConfig, meterkeepVersion, otelSchema } from '@meterkeep/config';
import { startTelemetry, type Telemetry } from './telemetry';

/** Starts telemetry from the OTEL_* environment; a service's main.ts calls this before anything else. */
export function startServiceTelemetry(serviceName: string, env: NodeJS.ProcessEnv = process.env): Telemetry {
  const otel = loadConfig(otelSchema, env);
  return startTelemetry({
    serviceName,
    serviceVersion: meterkeepVersion(),
    traces: otel.OTEL_TRACES_EXPORTER,
    metrics: otel.OTEL_METRICS_EXPORTER,
    otlpEndpoint: otel.OTEL_EXPORTER_OTLP_ENDPOINT,
    prometheus:
      otel.METRICS_PORT === undefined ? undefined : { port: otel.METRICS_PORT, host: otel.METRICS_HOST },
  });
}
