import {
  type Counter,
  type Histogram,
  type MeterProvider,
  type ObservableGauge,
  type ObservableResult,
  metrics,
} from '@opentelemetry/api';
import { METRICS, type MetricDefinition, type MetricKey } from './catalogue';

export const METER_NAME = 'meterkeep';

type KeysOfKind<K extends MetricDefinition['kind']> = {
  [P in MetricKey]: (typeof METRICS)[P]['kind'] extends K ? P : never;
}[MetricKey];

export type CounterKey = KeysOfKind<'counter'>;
export type HistogramKey = KeysOfKind<'histogram'>;
export type GaugeKey = KeysOfKind<'gauge'>;

/** The attributes a metric's catalogue entry names, each one required: a label never goes missing. */
export type MetricAttributes<K extends MetricKey> = Record<
  (typeof METRICS)[K]['attributes'][number],
  string | number
>;

type Instrument = Counter | Histogram | ObservableGauge;

// Per provider: the API hands out no-op meters until telemetry starts (and tests start their own), so
// instruments are looked up per use, never held from module load.
const instruments = new WeakMap<MeterProvider, Map<MetricKey, Instrument>>();

function instrument(key: MetricKey): Instrument {
  const provider = metrics.getMeterProvider();
  let byKey = instruments.get(provider);
  if (!byKey) instruments.set(provider, (byKey = new Map<MetricKey, Instrument>()));
  let created = byKey.get(key);
  if (!created) {
    const definition: MetricDefinition = METRICS[key];
    const meter = provider.getMeter(METER_NAME);
    const options = { description: definition.description, unit: definition.unit };
    switch (definition.kind) {
      case 'counter':
        created = meter.createCounter(definition.name, options);
        break;
      case 'histogram':
        created = meter.createHistogram(definition.name, {
          ...options,
          advice: definition.buckets ? { explicitBucketBoundaries: [...definition.buckets] } : undefined,
        });
        break;
      case 'gauge':
        created = meter.createObservableGauge(definition.name, options);
        break;
    }
    byKey.set(key, created);
  }
  return created;
}

/** Adds to a counter of the catalogue. */
export function countMetric<K extends CounterKey>(key: K, attributes: MetricAttributes<K>, value = 1): void {
  (instrument(key) as Counter).add(value, attributes);
}

/** Records one value of a histogram of the catalogue. */
export function recordMetric<K extends HistogramKey>(
  key: K,
  value: number,
  attributes: MetricAttributes<K>,
): void {
  (instrument(key) as Histogram).record(value, attributes);
}

export type GaugeObserver<K extends GaugeKey> = (value: number, attributes: MetricAttributes<K>) => void;

/**
 * Observes a gauge of the catalogue at each collection (a Prometheus scrape, an OTLP export) with
 * `callback`, until the returned function is called. A callback may be async: it should bound its own
 * wait (a scrape waits for it).
 */
export function observeGauge<K extends GaugeKey>(
  key: K,
  callback: (observe: GaugeObserver<K>) => void | Promise<void>,
): () => void {
  const gauge = instrument(key) as ObservableGauge;
  const observer = (result: ObservableResult) =>
    callback((value, attributes) => result.observe(value, attributes));
  gauge.addCallback(observer);
  return () => gauge.removeCallback(observer);
}

/**
 * Starts a counter of the catalogue at 0 for each of `attributeSets`, so each series exists from the
 * first scrape: rate() and increase() count from an earlier sample, and a burst before any scrape
 * would be invisible otherwise. Only label values known in advance (enums, the service's own topics or
 * routes), never an id. Call it once telemetry has started (a service's module init or start).
 */
export function startCounterAtZero<K extends CounterKey>(
  key: K,
  attributeSets: Iterable<MetricAttributes<K>>,
): void {
  const counter = instrument(key) as Counter;
  for (const attributes of attributeSets) counter.add(0, attributes);
}
