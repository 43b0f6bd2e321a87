import { DLQ_HEADERS, defineTopic, eventEnvelope } from '@meterkeep/contracts';
import { createLogger } from '@meterkeep/observability';
import type { EachMessagePayload, Kafka, ProducerRecord } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { EventConsumer, type EventHandler } from './event-consumer';
import { PermanentEventError } from './event-errors';

const contract = defineTopic({
  name: 'meter.readings.v1',
  schema: eventEnvelope.extend({ kwh: z.number() }),
  key: (event) => event.tenantId,
  partitions: 1,
  example: {
    eventId: '2f1c7f5e-8a3b-4c1d-9e2f-1a2b3c4d5e6f',
    tenantId: 't1',
    occurredAt: '2026-01-01T00:00:00Z',
    kwh: 1,
  },
});
type Reading = typeof contract.example;

/** Just enough of kafkajs to hand records to the consumer and see what it sends to the DLQ. */
function fakeKafka() {
  let eachMessage: ((payload: EachMessagePayload) => Promise<void>) | undefined;
  const deadLetters: ProducerRecord[] = [];
  const consumer = {
    events: { CRASH: 'consumer.crash' },
    on: vi.fn(),
    connect: vi.fn(async () => {}),
    subscribe: vi.fn(async () => {}),
    run: vi.fn((config: { eachMessage: typeof eachMessage }) => {
      eachMessage = config.eachMessage;
      return Promise.resolve();
    }),
    disconnect: vi.fn(async () => {}),
    stop: vi.fn(async () => {}),
  };
  const producer = {
    connect: vi.fn(async () => {}),
    disconnect: vi.fn(async () => {}),
    send: vi.fn((record: ProducerRecord) => {
      deadLetters.push(record);
      return Promise.resolve([]);
    }),
  };
  const heartbeat = vi.fn(async () => {});
  let offset = 0;
  const deliver = (value: string | null) =>
    eachMessage!({
      topic: contract.name,
      partition: 0,
      message: {
        key: Buffer.from('t1'),
        value: value === null ? null : Buffer.from(value),
        headers: {},
        offset: String(offset++),
        timestamp: '0',
        attributes: 0,
      },
      heartbeat,
      pause: () => () => {},
    });
  return {
    kafka: { consumer: () => consumer, producer: () => producer } as unknown as Kafka,
    kafkajsConsumer: consumer,
    deliver,
    deadLetters,
    heartbeat,
  };
}

const logger = createLogger({ service: 'test', level: 'silent' });

async function started(handler: EventHandler<Reading>, attempts = 3) {
  const fake = fakeKafka();
  const consumer = new EventConsumer({
    kafka: fake.kafka,
    groupId: 'g',
    logger,
    retry: { attempts, initialMs: 1, maxMs: 2 },
  }).subscribe(contract, handler);
  await consumer.start();
  return { ...fake, consumer };
}

const valid = JSON.stringify(contract.example);

describe('EventConsumer record handling', () => {
  it('dead-letters undecodable and invalid records without calling the handler', async () => {
    const handler = vi.fn();
    const { deliver, deadLetters } = await started(handler);
    await deliver('{oops');
    await deliver(JSON.stringify({ ...contract.example, kwh: 'many' }));
    await deliver(null);
    expect(handler).not.toHaveBeenCalled();
    expect(deadLetters.map((r) => r.topic)).toEqual(Array(3).fill('meter.readings.v1.dlq'));
    expect(
      deadLetters.map((r) => String(r.messages[0]?.headers?.[DLQ_HEADERS.reason]).split(':')[0]),
    ).toEqual(['invalid-json', 'contract-violation', 'empty-value']);
    expect(deadLetters.every((r) => r.acks === -1)).toBe(true);
  });

  it('retries a transient failure in place, heartbeating between attempts', async () => {
    const attempts: number[] = [];
    const { deliver, deadLetters, heartbeat } = await started((_event, meta) => {
      attempts.push(meta.attempt);
      if (meta.attempt < 3) throw new Error('flaky');
    });
    await expect(deliver(valid)).resolves.toBeUndefined();
    expect(attempts).toEqual([1, 2, 3]);
    expect(heartbeat).toHaveBeenCalledTimes(2);
    expect(deadLetters).toEqual([]);
  });

  it('rethrows once the attempts are spent, so kafkajs leaves the offset uncommitted', async () => {
    const handler = vi.fn(() => {
      throw new Error('still down');
    });
    const { deliver, deadLetters } = await started(handler, 2);
    await expect(deliver(valid)).rejects.toThrow('still down');
    expect(handler).toHaveBeenCalledTimes(2);
    expect(deadLetters).toEqual([]);
  });

  it('dead-letters a permanent failure at once', async () => {
    const handler = vi.fn(() => {
      throw new PermanentEventError('no such meter');
    });
    const { deliver, deadLetters } = await started(handler);
    await expect(deliver(valid)).resolves.toBeUndefined();
    expect(handler).toHaveBeenCalledTimes(1);
    expect(deadLetters[0]?.messages[0]?.headers?.[DLQ_HEADERS.reason]).toBe(
      'permanent-error: PermanentEventError: no such meter',
    );
  });

  it('gives up a backoff when stopped, leaving the record for redelivery', async () => {
    const fake = fakeKafka();
    const consumer = new EventConsumer({
      kafka: fake.kafka,
      groupId: 'g',
      logger,
      retry: { attempts: 5, initialMs: 60_000, maxMs: 60_000 },
    }).subscribe(contract, () => {
      throw new Error('down');
    });
    await consumer.start();
    expect(consumer.running).toBe(true);
    const handling = fake.deliver(valid);
    await consumer.stop();
    await expect(handling).rejects.toThrow('down');
    expect(consumer.state).toBe('stopped');
  });

  it('refuses a second handler for a topic and a start without subscriptions', async () => {
    const consumer = new EventConsumer({ kafka: fakeKafka().kafka, groupId: 'g', logger });
    await expect(consumer.start()).rejects.toThrow(/Subscribe/);
    consumer.subscribe(contract, () => {});
    expect(() => consumer.subscribe(contract, () => {})).toThrow(/already has a handler/);
  });
});

describe('EventConsumer shutdown', () => {
  const warnings = () => {
    const lines: string[] = [];
    const capture = createLogger({
      service: 'test',
      level: 'warn',
      destination: { write: (line: string) => lines.push(line) },
    });
    return { capture, lines };
  };

  it('lets go of a kafkajs disconnect that hangs (a join the broker keeps answering "loading") after its timeout', async () => {
    const fake = fakeKafka();
    fake.kafkajsConsumer.disconnect.mockImplementation(() => new Promise<void>(() => {}));
    const { capture, lines } = warnings();
    const consumer = new EventConsumer({
      kafka: fake.kafka,
      groupId: 'g',
      logger: capture,
      disconnectTimeoutMs: 20,
    }).subscribe(contract, () => {});
    await consumer.start();
    await consumer.stop();
    expect(consumer.state).toBe('stopped');
    expect(lines.join('')).toMatch(/did not leave its group in time/);
  });

  it('stops, with a warning, when kafkajs fails to leave the group', async () => {
    const fake = fakeKafka();
    fake.kafkajsConsumer.disconnect.mockRejectedValue(new Error('The coordinator is loading'));
    const { capture, lines } = warnings();
    const consumer = new EventConsumer({ kafka: fake.kafka, groupId: 'g', logger: capture }).subscribe(
      contract,
      () => {},
    );
    await consumer.start();
    await expect(consumer.stop()).resolves.toBeUndefined();
    expect(lines.join('')).toMatch(/failed to leave its group/);
  });

  it('cancels the restart kafkajs schedules for a crash that comes while stopping', async () => {
    const fake = fakeKafka();
    const consumer = new EventConsumer({ kafka: fake.kafka, groupId: 'g', logger }).subscribe(
      contract,
      () => {},
    );
    await consumer.start();
    const onCrash = fake.kafkajsConsumer.on.mock.calls.find(([event]) => event === 'consumer.crash')![1] as (
      event: unknown,
    ) => void;
    await consumer.stop();
    onCrash({ payload: { error: new Error('coordinator loading'), restart: true } });
    expect(consumer.state).toBe('stopped');
    await new Promise((resolve) => setImmediate(resolve));
    expect(fake.kafkajsConsumer.stop).toHaveBeenCalledTimes(1);
  });
});
