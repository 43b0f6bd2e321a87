import { type SpanContext, SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventConsumer, EventProducer, ensureTopics } from '../src';
import {
  fastConsumer,
  meterContract,
  meterReading,
  testKafka,
  testLogger,
  uniqueGroupId,
  waitUntil,
} from './kafka-test-kit';

describe('trace context across the Kafka hop', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const kafka = testKafka();

  beforeAll(() => {
    provider.register({
      contextManager: new AsyncLocalStorageContextManager(),
      propagator: new W3CTraceContextPropagator(),
    });
  });
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('makes the consumer span a child of the producer span, in the publisher trace', async () => {
    const contract = meterContract('traced');
    await ensureTopics(kafka, [contract], { deadLetter: true });
    const producer = new EventProducer({ kafka });
    await producer.connect();

    let handlerSpan: SpanContext | undefined;
    let handlerHeaders: Record<string, string> = {};
    const consumer = new EventConsumer({
      kafka,
      groupId: uniqueGroupId('traced'),
      logger: testLogger,
      ...fastConsumer,
    }).subscribe(contract, (_event, meta) => {
      handlerSpan = trace.getActiveSpan()?.spanContext();
      handlerHeaders = meta.headers;
    });
    await consumer.start();

    try {
      const parent = await trace.getTracer('test').startActiveSpan('http POST /readings', async (span) => {
        await producer.publish(contract, meterReading(1));
        span.end();
        return span.spanContext();
      });

      await waitUntil(() => handlerSpan, { description: 'the handler to run' });
      await waitUntil(() => exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CONSUMER), {
        description: 'the consumer span to end',
      });
      const spans = exporter.getFinishedSpans();
      const send = spans.find((s) => s.kind === SpanKind.PRODUCER);
      const process = spans.find((s) => s.kind === SpanKind.CONSUMER);

      expect(send?.name).toBe(`send ${contract.name}`);
      expect(send?.spanContext().traceId).toBe(parent.traceId);
      expect(send?.parentSpanContext?.spanId).toBe(parent.spanId);

      expect(process?.name).toBe(`process ${contract.name}`);
      expect(process?.spanContext().traceId).toBe(parent.traceId);
      expect(process?.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
      expect(process?.attributes).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.destination.name': contract.name,
        'messaging.operation.type': 'process',
      });
      // The handler runs inside the consumer span, so its logs and child spans join the trace.
      expect(handlerSpan?.spanId).toBe(process?.spanContext().spanId);
      expect(handlerHeaders.traceparent).toBe(`00-${parent.traceId}-${send?.spanContext().spanId}-01`);
    } finally {
      await consumer.stop();
      await producer.disconnect();
    }
  });
});
