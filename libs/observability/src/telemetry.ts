import { metrics, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  ConsoleMetricExporter,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { type PrometheusEndpoint, startPrometheusEndpoint } from './metrics/prometheus-endpoint';
import { startRuntimeMetrics } from './metrics/runtime-metrics';

/** otlp: an OpenTelemetry collector; console: stdout; memory: kept for tests to read; none: off. */
export type ExporterKind = 'otlp' | 'console' | 'memory' | 'none';

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion?: string;
  traces: ExporterKind;
  metrics: ExporterKind;
  /** Base URL of the OTLP/HTTP collector, e.g. http://otel-collector:4318. */
  otlpEndpoint?: string;
  metricIntervalMs?: number;
  /** A Prometheus scrape endpoint (GET /metrics) on its own port; none when absent. */
  prometheus?: { port: number; host: string };
}

export interface Telemetry {
  /** Present when traces go to memory: what tests read. */
  readonly spans?: InMemorySpanExporter;
  readonly metrics?: InMemoryMetricExporter;
  /** The Prometheus endpoint's URL once it listens (undefined when off); rejects when it cannot listen. */
  readonly metricsEndpoint: Promise<string | undefined>;
  /** Exports what is buffered; call before the process exits. */
  shutdown(): Promise<void>;
  forceFlush(): Promise<void>;
}

function spanProcessor(
  kind: ExporterKind,
  endpoint: string | undefined,
  memory: InMemorySpanExporter,
): SpanProcessor[] {
  switch (kind) {
    case 'none':
      return [];
    case 'memory':
      return [new SimpleSpanProcessor(memory)];
    case 'console':
      return [new SimpleSpanProcessor(new ConsoleSpanExporter())];
    case 'otlp': {
      const exporter: SpanExporter = new OTLPTraceExporter(endpoint ? { url: `${endpoint}/v1/traces` } : {});
      return [new BatchSpanProcessor(exporter)];
    }
  }
}

function metricExporter(
  kind: ExporterKind,
  endpoint: string | undefined,
  memory: InMemoryMetricExporter,
): PushMetricExporter | undefined {
  switch (kind) {
    case 'none':
      return undefined;
    case 'memory':
      return memory;
    case 'console':
      return new ConsoleMetricExporter();
    case 'otlp':
      return new OTLPMetricExporter(endpoint ? { url: `${endpoint}/v1/metrics` } : {});
  }
}

/**
 * Starts tracing and metrics for the process; call first in main.ts, before anything that should be
 * traced is loaded. Trace context crosses HTTP and Kafka as W3C traceparent headers.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: options.serviceName,
    [ATTR_SERVICE_VERSION]: options.serviceVersion ?? '0.0.0',
  });
  const memorySpans = new InMemorySpanExporter();
  const tracerProvider = new NodeTracerProvider({
    resource,
    spanProcessors: spanProcessor(options.traces, options.otlpEndpoint, memorySpans),
  });
  tracerProvider.register({ propagator: new W3CTraceContextPropagator() });

  const memoryMetrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const exporter = metricExporter(options.metrics, options.otlpEndpoint, memoryMetrics);
  const prometheus: PrometheusEndpoint | undefined = options.prometheus
    ? startPrometheusEndpoint(options.prometheus.port, options.prometheus.host)
    : undefined;
  const meterProvider = new MeterProvider({
    resource,
    readers: [
      ...(exporter
        ? [
            new PeriodicExportingMetricReader({
              exporter,
              exportIntervalMillis: options.metricIntervalMs ?? 15_000,
            }),
          ]
        : []),
      ...(prometheus ? [prometheus.reader] : []),
    ],
  });
  metrics.setGlobalMeterProvider(meterProvider);
  // Only when something reads them: a process without a metrics reader spends nothing on the loop.
  const stopRuntimeMetrics = exporter || prometheus ? startRuntimeMetrics() : () => undefined;

  return {
    spans: options.traces === 'memory' ? memorySpans : undefined,
    metrics: options.metrics === 'memory' ? memoryMetrics : undefined,
    metricsEndpoint: prometheus ? prometheus.listening : Promise.resolve(undefined),
    forceFlush: async () => {
      await Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush()]);
    },
    shutdown: async () => {
      stopRuntimeMetrics();
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown(), prometheus?.close()]);
      trace.disable();
      metrics.disable();
      propagation.disable();
    },
  };
}
