/**
 * Every metric Meterkeep exports, in one place: the instruments are created from these entries, and
 * the alert rules and the dashboard in deploy/observability may name only what this list exports
 * (tools/observability-assets.spec.ts). Attribute names follow the OpenTelemetry semantic conventions
 * where one exists; Prometheus sees dots as underscores.
 */

export type MetricKind = 'counter' | 'histogram' | 'gauge';

export interface MetricDefinition {
  name: string;
  kind: MetricKind;
  unit: string;
  description: string;
  /** The attributes every data point carries: bounded sets only, never an id. */
  attributes: readonly string[];
  /** Histograms: the bucket boundaries, in `unit`. */
  buckets?: readonly number[];
}

/** Seconds; the semantic conventions' advice for http.server.request.duration. */
const HTTP_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
] as const;

export const METRICS = {
  // ---- HTTP, every listener (libs/service-runtime) ----
  httpServerDuration: {
    name: 'http.server.request.duration',
    kind: 'histogram',
    unit: 's',
    description: 'Duration of HTTP requests, per route template (its count is the request count)',
    attributes: ['http.request.method', 'http.route', 'http.response.status_code', 'meterkeep.listener'],
    buckets: HTTP_DURATION_BUCKETS,
  },
  httpOverloadAnswers: {
    name: 'meterkeep.http.overload_answers',
    kind: 'counter',
    unit: '{answer}',
    description: 'Answers 429 (rate limited) and 503 (unavailable, saturated, draining), with their code',
    attributes: ['http.route', 'http.response.status_code', 'meterkeep.listener', 'meterkeep.code'],
  },

  // ---- domain ----
  onboardings: {
    name: 'meterkeep.bootstrap.onboardings',
    kind: 'counter',
    unit: '{onboarding}',
    description: 'Bootstrap attempts by method (certificate, psk) and outcome (success or the refusal code)',
    attributes: ['meterkeep.bootstrap.method', 'meterkeep.outcome'],
  },
  certificatesIssued: {
    name: 'meterkeep.certificates.issued',
    kind: 'counter',
    unit: '{certificate}',
    description: 'Operational certificates issued, by kind (bootstrap, renewal)',
    attributes: ['meterkeep.issuance.kind'],
  },
  certificatesRevoked: {
    name: 'meterkeep.certificates.revoked',
    kind: 'counter',
    unit: '{certificate}',
    description: 'Operational certificates revoked, by reason',
    attributes: ['meterkeep.revocation.reason'],
  },
  readings: {
    name: 'meterkeep.telemetry.items',
    kind: 'counter',
    unit: '{item}',
    description: 'Batch items (readings and events) accepted, duplicate or refused, with the refusal code',
    attributes: ['meterkeep.telemetry.section', 'meterkeep.outcome', 'meterkeep.code'],
  },
  otaExecutions: {
    name: 'meterkeep.ota.executions',
    kind: 'counter',
    unit: '{event}',
    description:
      'OTA execution status events by the state they report (QUEUED ... SUCCEEDED, FAILED, ROLLED_BACK): ' +
      'one per state entered, plus progress reports within a state',
    attributes: ['meterkeep.ota.state'],
  },
  erasures: {
    name: 'meterkeep.privacy.erasures',
    kind: 'counter',
    unit: '{erasure}',
    description: 'Crypto-shredding: data keys destroyed (each makes every copy of its readings unreadable)',
    attributes: ['meterkeep.erasure.kind'],
  },

  // ---- Kafka (libs/kafka) and the outbox (libs/outbox) ----
  deadLetters: {
    name: 'meterkeep.kafka.dead_letters',
    kind: 'counter',
    unit: '{record}',
    description: 'Records written to <topic>.dlq, by source topic and consumer group',
    attributes: ['messaging.destination.name', 'messaging.consumer.group.name'],
  },
  consumerLag: {
    name: 'meterkeep.kafka.consumer.lag',
    kind: 'gauge',
    unit: '{record}',
    description: 'Records not yet committed by the group: end offset minus committed offset, per partition',
    attributes: [
      'messaging.consumer.group.name',
      'messaging.destination.name',
      'messaging.destination.partition.id',
    ],
  },
  outboxBacklog: {
    name: 'meterkeep.outbox.backlog',
    kind: 'gauge',
    unit: '{event}',
    description: 'Events in the service outbox not yet published to Kafka (counted up to 100,000)',
    attributes: [],
  },
  outboxOldestAge: {
    name: 'meterkeep.outbox.oldest_age',
    kind: 'gauge',
    unit: 's',
    description: 'Age of the oldest event in the service outbox (0 when empty)',
    attributes: [],
  },

  // ---- Node.js runtime (names of the OpenTelemetry runtime conventions) ----
  eventLoopDelayP50: {
    name: 'nodejs.eventloop.delay.p50',
    kind: 'gauge',
    unit: 's',
    description: 'Event loop delay, median over the last interval',
    attributes: [],
  },
  eventLoopDelayP99: {
    name: 'nodejs.eventloop.delay.p99',
    kind: 'gauge',
    unit: 's',
    description: 'Event loop delay, 99th percentile over the last interval',
    attributes: [],
  },
  eventLoopDelayMax: {
    name: 'nodejs.eventloop.delay.max',
    kind: 'gauge',
    unit: 's',
    description: 'Event loop delay, maximum over the last interval',
    attributes: [],
  },
  eventLoopUtilization: {
    name: 'nodejs.eventloop.utilization',
    kind: 'gauge',
    unit: '1',
    description: 'Share of the last interval the event loop was busy',
    attributes: [],
  },
  heapUsed: {
    name: 'v8js.memory.heap.used',
    kind: 'gauge',
    unit: 'By',
    description: 'V8 heap in use, per heap space',
    attributes: ['v8js.heap.space.name'],
  },
  heapLimit: {
    name: 'v8js.memory.heap.limit',
    kind: 'gauge',
    unit: 'By',
    description: 'V8 heap size limit',
    attributes: [],
  },
  processMemory: {
    name: 'process.memory.usage',
    kind: 'gauge',
    unit: 'By',
    description: 'Resident set size of the process',
    attributes: [],
  },
  gcDuration: {
    name: 'v8js.gc.duration',
    kind: 'histogram',
    unit: 's',
    description: 'Garbage collection pauses, per kind (major, minor, incremental, weakcb)',
    attributes: ['v8js.gc.type'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;

/** A name or attribute as Prometheus spells it: what is not [a-zA-Z0-9_:] becomes `_`. */
export function prometheusName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/_+/g, '_');
}

/** The series names a metric becomes in the Prometheus exposition format. */
export function prometheusSeries(definition: MetricDefinition): string[] {
  const base = prometheusName(definition.name);
  switch (definition.kind) {
    case 'counter':
      return [`${base}_total`];
    case 'histogram':
      return [`${base}_bucket`, `${base}_sum`, `${base}_count`];
    case 'gauge':
      return [base];
  }
}

/** Every series name Meterkeep exports to Prometheus. */
export function exportedSeriesNames(): Set<string> {
  return new Set(Object.values(METRICS).flatMap((definition) => prometheusSeries(definition)));
}
