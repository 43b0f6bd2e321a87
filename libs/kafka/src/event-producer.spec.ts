import { defineTopic, eventEnvelope } from '@meterkeep/contracts';
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventProducer, splitMessages, takeBatch } from './event-producer';

const reading = eventEnvelope.extend({ meterId: z.string(), value: z.number() });
type Reading = z.infer<typeof reading>;
const TOPIC = defineTopic<Reading>({
  name: 'unit.readings.v1',
  schema: reading,
  key: (e) => `${e.tenantId}/${e.meterId}`,
  partitions: 1,
  example: {
    eventId: '5b0b2f5e-8f0c-4b8e-9d69-3c1f0f7b2a11',
    tenantId: 't',
    occurredAt: '2026-11-26T08:00:00.000Z',
    meterId: 'm',
    value: 1,
  },
});

/** A stand-in broker that acknowledges each request after a round trip: the batching is under test. */
function fakeKafka(roundTripMs: number, fail?: () => boolean) {
  const requests: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const kafka = {
    producer: () => ({
      connect: async () => {},
      disconnect: async () => {},
      sendBatch: async ({ topicMessages }: { topicMessages: { messages: unknown[] }[] }) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, roundTripMs));
        inFlight -= 1;
        if (fail?.()) throw new Error('NOT_ENOUGH_REPLICAS');
        requests.push(topicMessages.reduce((n, t) => n + t.messages.length, 0));
        return [];
      },
    }),
    admin: () => ({
      connect: async () => {},
      disconnect: async () => {},
      listTopics: () => Promise.resolve([TOPIC.name]),
    }),
  } as unknown as Kafka;
  return { kafka, requests, maxInFlight: () => maxInFlight };
}

const event = (i: number): Reading => ({
  ...TOPIC.example,
  eventId: crypto.randomUUID(),
  meterId: `m${i}`,
  value: i,
});

describe('EventProducer batching', () => {
  it('sends concurrent publishes together, one request at a time, and resolves each after its request', async () => {
    const broker = fakeKafka(20);
    const producer = new EventProducer({ kafka: broker.kafka, contracts: [TOPIC] });
    await producer.connect();
    await Promise.all(Array.from({ length: 300 }, (_, i) => producer.publish(TOPIC, event(i))));
    expect(broker.requests.reduce((a, b) => a + b, 0)).toBe(300);
    expect(broker.requests.length).toBeLessThan(10);
    expect(broker.maxInFlight()).toBe(1);
  });

  it('rejects every publish of a failed request, and goes on with the next', async () => {
    let calls = 0;
    const broker = fakeKafka(5, () => ++calls === 1);
    const producer = new EventProducer({ kafka: broker.kafka, contracts: [TOPIC] });
    await producer.connect();
    const first = await Promise.allSettled([
      producer.publish(TOPIC, event(1)),
      producer.publish(TOPIC, event(2)),
    ]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(producer.publish(TOPIC, event(3))).resolves.toBeUndefined();
  });
});

describe('one publish larger than a request', () => {
  it('leaves as several requests under the byte limit, in order, and resolves once all are acknowledged', async () => {
    const broker = fakeKafka(2);
    const producer = new EventProducer({ kafka: broker.kafka, contracts: [TOPIC] });
    await producer.connect();
    // ~2,000 records of ~1 KiB: about 2 MiB, over the broker's default message.max.bytes in one request.
    const big = (i: number) => ({ ...event(i), meterId: `m${i}-${'x'.repeat(1_000)}` });
    await producer.publishMany(
      TOPIC,
      Array.from({ length: 2_000 }, (_, i) => big(i)),
    );
    expect(broker.requests.reduce((a, b) => a + b, 0)).toBe(2_000);
    expect(broker.requests.length).toBeGreaterThanOrEqual(3);
  });

  it('splits by bytes and by count, keeping order; a record alone is never split', () => {
    const message = (value: string) => ({ key: 'k', value, headers: {} });
    const chunks = splitMessages([message('a'.repeat(60)), message('b'.repeat(60)), message('c')], 100, 10);
    expect(chunks.map((c) => c.messages.map((m) => m.value[0]))).toEqual([['a'], ['b', 'c']]);
    expect(splitMessages([message('z'.repeat(500))], 100, 10)).toHaveLength(1);
    expect(
      splitMessages(
        [1, 2, 3].map((i) => message(String(i))),
        1_000,
        2,
      ).map((c) => c.messages.length),
    ).toEqual([2, 1]);
  });
});

describe('takeBatch', () => {
  it('takes the oldest sends up to the request limits, but always at least one', () => {
    const pending = [
      { messages: [1], bytes: 500_000 },
      { messages: [1], bytes: 500_000 },
      { messages: [1], bytes: 10 },
    ];
    expect(takeBatch(pending)).toHaveLength(1);
    expect(pending).toHaveLength(2);
    const huge = [{ messages: [1], bytes: 5_000_000 }];
    expect(takeBatch(huge)).toHaveLength(1);
  });
});
