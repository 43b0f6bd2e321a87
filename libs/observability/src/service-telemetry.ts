import type { Attributes } from '@opentelemetry/api';
import { type OtelConfig, loadConfig, meterkeepVersion, otelSchema } from '@meterkeep/config';
import { startTelemetry, type Telemetry } from './telemetry';

/** The pod's Kubernetes names (downward API variables) as resource attributes; none outside Kubernetes. */
export function kubernetesAttributes(otel: OtelConfig): Attributes {
  const attributes: Attributes = {};
  if (otel.K8S_POD_NAME) attributes['k8s.pod.name'] = otel.K8S_POD_NAME;
  if (otel.K8S_POD_UID) attributes['k8s.pod.uid'] = otel.K8S_POD_UID;
  if (otel.K8S_NAMESPACE_NAME) attributes['k8s.namespace.name'] = otel.K8S_NAMESPACE_NAME;
  if (otel.K8S_NODE_NAME) attributes['k8s.node.name'] = otel.K8S_NODE_NAME;
  return attributes;
}

/** Starts telemetry from the OTEL_* environment; a service's main.ts calls this before anything else. */
export function startServiceTelemetry(serviceName: string, env: NodeJS.ProcessEnv = process.env): Telemetry {
  const otel = loadConfig(otelSchema, env);
  return startTelemetry({
    serviceName,
    serviceVersion: meterkeepVersion(),
    resourceAttributes: kubernetesAttributes(otel),
    traces: otel.OTEL_TRACES_EXPORTER,
    metrics: otel.OTEL_METRICS_EXPORTER,
    otlpEndpoint: otel.OTEL_EXPORTER_OTLP_ENDPOINT,
    prometheus:
      otel.METRICS_PORT === undefined ? undefined : { port: otel.METRICS_PORT, host: otel.METRICS_HOST },
  });
}

/**
 * Starts the service's telemetry as its main.ts first import loads (before the modules the
 * instrumentations hook: pg, ioredis, the AWS SDK); runMain calls the function it returns. A
 * configuration error is kept until then, so it stops the service with its message like any other.
 */
export function telemetryFirst(serviceName: string): () => Telemetry {
  let started: { telemetry: Telemetry } | { error: unknown };
  try {
    started = { telemetry: startServiceTelemetry(serviceName) };
  } catch (error) {
    started = { error };
  }
  return () => {
    if ('error' in started) throw started.error;
    return started.telemetry;
  };
}
