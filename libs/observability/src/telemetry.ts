import { type Attributes, context, metrics, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { envDetector, hostDetector, processDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  ConsoleMetricExporter,
  InMemoryMetricExporter,
  type IMetricReader,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOffSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  InMemorySpanExporter,
  NoopSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { tracingInstrumentations } from './instrumentations';
import { type PrometheusEndpoint, startPrometheusEndpoint } from './metrics/prometheus-endpoint';
import { startRuntimeMetrics } from './metrics/runtime-metrics';

/** otlp: an OpenTelemetry collector; console: stdout; memory: kept for tests to read; none: off. */
export type ExporterKind = 'otlp' | 'console' | 'memory' | 'none';

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion?: string;
  /**
   * More resource attributes (the pod's Kubernetes names). OTEL_RESOURCE_ATTRIBUTES and
   * OTEL_SERVICE_NAME, read from the environment, take precedence over these and the two above.
   */
  resourceAttributes?: Attributes;
  traces: ExporterKind;
  metrics: ExporterKind;
  /** Base URL of the OTLP/HTTP collector, e.g. http://otel-collector:4318. */
  otlpEndpoint?: string;
  metricIntervalMs?: number;
  /** A Prometheus scrape endpoint (GET /metrics) on its own port; none when absent. */
  prometheus?: { port: number; host: string };
  /**
   * Registers the http, undici, pg, ioredis and aws-sdk instrumentations (default true). They hook
   * those modules as they are loaded: start telemetry before anything requires them.
   */
  instrument?: boolean;
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

function spanProcessors(
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
      // OTEL_BSP_* (schedule delay, queue and batch sizes) tune the batching.
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
 * The instrumentations' own metrics are dropped: every exported metric comes from the catalogue
 * (metrics/catalogue.ts), and the http instrumentation's http.server.request.duration would be a second
 * family of that name, without the listener label, on the Prometheus endpoint.
 */
function dropInstrumentationMetrics(instrumentations: readonly Instrumentation[]): ViewOptions[] {
  return instrumentations.map((instrumentation) => ({
    meterName: instrumentation.instrumentationName,
    aggregation: { type: AggregationType.DROP },
  }));
}

/**
 * Starts tracing and metrics for the process (OpenTelemetry's Node SDK); call first in main.ts,
 * before anything that should be traced is loaded. Trace context crosses HTTP and Kafka as W3C
 * traceparent headers. With traces off, spans are still made (not recorded) so that logs carry a
 * trace id and an incoming trace context travels on.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const memorySpans = new InMemorySpanExporter();
  const memoryMetrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const exporter = metricExporter(options.metrics, options.otlpEndpoint, memoryMetrics);
  const prometheus: PrometheusEndpoint | undefined = options.prometheus
    ? startPrometheusEndpoint(options.prometheus.port, options.prometheus.host)
    : undefined;
  const metricReaders: IMetricReader[] = [
    ...(exporter
      ? [
          new PeriodicExportingMetricReader({
            exporter,
            exportIntervalMillis: options.metricIntervalMs ?? 15_000,
          }),
        ]
      : []),
    ...(prometheus ? [prometheus.reader] : []),
  ];
  const instrumentations = options.instrument === false ? [] : tracingInstrumentations();
  const processors = spanProcessors(options.traces, options.otlpEndpoint, memorySpans);

  const sdk = new NodeSDK({
    // Ours first; OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (envDetector) override them.
    resource: resourceFromAttributes({
      ...options.resourceAttributes,
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion ?? '0.0.0',
    }),
    resourceDetectors: [hostDetector, processDetector, envDetector],
    instrumentations,
    // Without a processor the provider still hands out span contexts. Its own traces are sampled out
    // (cheapest); a caller's sampled trace stays sampled, so services downstream that export keep it.
    ...(processors.length === 0 ? { sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }) } : {}),
    spanProcessors: processors.length === 0 ? [new NoopSpanProcessor()] : processors,
    metricReaders,
    views: dropInstrumentationMetrics(instrumentations),
    // Logs go to stdout as JSON (pino), never to an OTLP logs endpoint the SDK would assume.
    logRecordProcessors: [],
    textMapPropagator: new W3CTraceContextPropagator(),
  });
  sdk.start();
  // Only when something reads them: a process without a metrics reader spends nothing on the loop.
  const stopRuntimeMetrics = metricReaders.length > 0 ? startRuntimeMetrics() : () => undefined;

  return {
    spans: options.traces === 'memory' ? memorySpans : undefined,
    metrics: options.metrics === 'memory' ? memoryMetrics : undefined,
    metricsEndpoint: prometheus ? prometheus.listening : Promise.resolve(undefined),
    forceFlush: async () => {
      await Promise.all(
        [...processors, ...metricReaders].map((flushable) => flushable.forceFlush().catch(() => undefined)),
      );
    },
    shutdown: async () => {
      stopRuntimeMetrics();
      await Promise.allSettled([sdk.shutdown(), prometheus?.close()]);
      for (const instrumentation of instrumentations) instrumentation.disable();
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
    },
  };
}
