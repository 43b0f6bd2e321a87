import {
  type EventLoopUtilization,
  PerformanceObserver,
  constants,
  monitorEventLoopDelay,
  performance,
} from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { observeGauge, recordMetric } from './instruments';

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

interface LoopWindow {
  p50: number;
  p99: number;
  max: number;
  utilization: number;
}

/**
 * Event loop delay and utilisation, heap and GC, with the names of the OpenTelemetry runtime
 * conventions. The loop figures are those of the last whole window (`windowMs`), so two readers (OTLP
 * and a scrape) see the same numbers. Returns the function that stops it.
 */
export function startRuntimeMetrics(windowMs = 15_000): () => void {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let utilizationFrom: EventLoopUtilization = performance.eventLoopUtilization();
  const measure = (): LoopWindow => {
    const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
    const utilization = performance.eventLoopUtilization(utilizationFrom).utilization;
    return {
      p50: seconds(delay.percentile(50)),
      p99: seconds(delay.percentile(99)),
      max: seconds(delay.max),
      utilization,
    };
  };
  let last: LoopWindow | undefined;
  const timer = setInterval(() => {
    last = measure();
    delay.reset();
    utilizationFrom = performance.eventLoopUtilization();
  }, windowMs);
  timer.unref();
  const loop = () => last ?? measure();

  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      recordMetric('gcDuration', entry.duration / 1_000, {
        'v8js.gc.type': (kind !== undefined && GC_KINDS[kind]) || 'other',
      });
    }
  });
  gc.observe({ entryTypes: ['gc'] });

  const stops = [
    observeGauge('eventLoopDelayP50', (observe) => observe(loop().p50, {})),
    observeGauge('eventLoopDelayP99', (observe) => observe(loop().p99, {})),
    observeGauge('eventLoopDelayMax', (observe) => observe(loop().max, {})),
    observeGauge('eventLoopUtilization', (observe) => observe(loop().utilization, {})),
    observeGauge('heapUsed', (observe) => {
      for (const space of getHeapSpaceStatistics())
        observe(space.space_used_size, { 'v8js.heap.space.name': space.space_name });
    }),
    observeGauge('heapLimit', (observe) => observe(getHeapStatistics().heap_size_limit, {})),
    observeGauge('processMemory', (observe) => observe(process.memoryUsage.rss(), {})),
  ];
  return () => {
    clearInterval(timer);
    delay.disable();
    gc.disconnect();
    for (const stop of stops) stop();
  };
}
