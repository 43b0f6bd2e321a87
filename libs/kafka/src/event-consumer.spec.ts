import { DLQ_HEADERS, defineTopic, eventEnvelope } from '@meterkeep/contracts';
import { createLogger } from '@meterkeep/observability';
import type { EachBatchPayload, EachMessagePayload, Kafka, ProducerRecord } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { EventConsumer, type EventHandler } from './event-consumer';
import { PermanentEventError, RefusedRecordsError } from './event-errors';

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

/** kafkajs in batch mode: hands a partition's records over at once, records what was resolved. */
function fakeBatchKafka() {
  const fake = fakeKafka();
  let eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  fake.kafkajsConsumer.run.mockImplementation(((config: { eachBatch: typeof eachBatch }) => {
    eachBatch = config.eachBatch;
    return Promise.resolve();
  }) as never);
  const resolved: string[] = [];
  /** What happened, in order: handler calls, dead letters, resolves, heartbeats. */
  const steps: string[] = [];
  const heartbeat = vi.fn(() => {
    steps.push('heartbeat');
    return Promise.resolve();
  });
  let running = true;
  let offset = 0;
  const deliverBatch = (values: (string | null)[]) => {
    const messages = values.map((value) => ({
      key: Buffer.from('t1'),
      value: value === null ? null : Buffer.from(value),
      headers: {},
      offset: String(offset++),
      timestamp: '0',
      attributes: 0,
    }));
    return eachBatch!({
      batch: { topic: contract.name, partition: 0, messages },
      resolveOffset: (o: string) => {
        resolved.push(o);
        steps.push(`resolve ${o}`);
      },
      heartbeat,
      commitOffsetsIfNecessary: vi.fn(async () => {}),
      isRunning: () => running,
      isStale: () => false,
      pause: () => () => {},
      uncommittedOffsets: () => ({ topics: [] }),
    } as unknown as EachBatchPayload);
  };
  return {
    ...fake,
    deliverBatch,
    resolved,
    steps,
    heartbeat,
    stopRunning: () => {
      running = false;
    },
  };
}

describe('EventConsumer batch mode', () => {
  const reading = (kwh: number) => JSON.stringify({ ...contract.example, kwh });

  async function startedBatch(
    handler: (records: readonly { event: Reading; meta: { offset: string; attempt: number } }[]) => unknown,
    options: { attempts?: number; maxBatchRecords?: number } = {},
  ) {
    const fake = fakeBatchKafka();
    const consumer = new EventConsumer({
      kafka: fake.kafka,
      groupId: 'g',
      logger,
      retry: { attempts: options.attempts ?? 3, initialMs: 1, maxMs: 2 },
      maxBatchRecords: options.maxBatchRecords,
    }).subscribeBatch(contract, async (records) => {
      await handler(records);
    });
    await consumer.start();
    return { ...fake, consumer };
  }

  it('runs kafkajs eachBatch without auto-resolve, so only handled slices are committed', async () => {
    const { kafkajsConsumer } = await startedBatch(() => {});
    const config = kafkajsConsumer.run.mock.calls[0]![0] as Record<string, unknown>;
    expect(config).toMatchObject({ autoCommit: true, eachBatchAutoResolve: false });
    expect(config.eachBatch).toBeTypeOf('function');
    expect(config.eachMessage).toBeUndefined();
  });

  it('hands valid records over in offset order, a slice at a time; resolves each slice after its handler, heartbeating', async () => {
    const seen: number[][] = [];
    const fake = await startedBatch(
      (records) => {
        seen.push(records.map((r) => r.event.kwh));
        fake.steps.push(`handled ${records.map((r) => r.meta.offset).join(',')}`);
      },
      { maxBatchRecords: 2 },
    );
    await fake.deliverBatch([reading(1), reading(2), reading(3), '{oops', reading(5)]);
    expect(seen).toEqual([[1, 2], [3], [5]]);
    expect(fake.steps).toEqual([
      'handled 0,1',
      'resolve 1',
      'heartbeat',
      'handled 2',
      'resolve 3',
      'heartbeat',
      'handled 4',
      'resolve 4',
      'heartbeat',
    ]);
    // The invalid record went to the DLQ with its reason before its slice was resolved.
    expect(fake.deadLetters).toHaveLength(1);
    expect(fake.deadLetters[0]!.messages[0]!.headers![DLQ_HEADERS.sourceOffset]).toBe('3');
    expect(String(fake.deadLetters[0]!.messages[0]!.headers![DLQ_HEADERS.reason])).toMatch(/^invalid-json/);
  });

  it('dead-letters a slice of only invalid records without calling the handler, then resolves it', async () => {
    const handler = vi.fn();
    const fake = await startedBatch(handler);
    await fake.deliverBatch([null, JSON.stringify({ ...contract.example, kwh: 'many' })]);
    expect(handler).not.toHaveBeenCalled();
    expect(
      fake.deadLetters.map((r) => String(r.messages[0]?.headers?.[DLQ_HEADERS.reason]).split(':')[0]),
    ).toEqual(['empty-value', 'contract-violation']);
    expect(fake.resolved).toEqual(['1']);
  });

  it('retries a failing slice whole, then leaves it unresolved for redelivery', async () => {
    const attempts: number[] = [];
    const fake = await startedBatch(
      (records) => {
        attempts.push(records[0]!.meta.attempt);
        throw new Error('database down');
      },
      { attempts: 3 },
    );
    await expect(fake.deliverBatch([reading(1), reading(2)])).rejects.toThrow('database down');
    expect(attempts).toEqual([1, 2, 3]);
    expect(fake.heartbeat).toHaveBeenCalledTimes(2);
    expect(fake.resolved).toEqual([]);
    expect(fake.deadLetters).toEqual([]);
  });

  it('on a permanent error replays the slice record by record: only the bad record is dead-lettered', async () => {
    const applied: number[] = [];
    const fake = await startedBatch((records) => {
      if (records.some((r) => r.event.kwh === 13)) throw new PermanentEventError('unlucky meter');
      applied.push(...records.map((r) => r.event.kwh));
    });
    await fake.deliverBatch([reading(1), reading(13), reading(3)]);
    expect(applied).toEqual([1, 3]);
    expect(fake.deadLetters).toHaveLength(1);
    expect(fake.deadLetters[0]!.messages[0]!.headers![DLQ_HEADERS.sourceOffset]).toBe('1');
    expect(fake.deadLetters[0]!.messages[0]!.headers![DLQ_HEADERS.reason]).toBe(
      'permanent-error: PermanentEventError: unlucky meter',
    );
    expect(fake.resolved).toEqual(['2']);
  });

  it('a handler naming its refused records: exactly those are dead-lettered, the rest handed over again at once', async () => {
    const slices: number[][] = [];
    const fake = await startedBatch((records) => {
      slices.push(records.map((r) => r.event.kwh));
      const refused = records.flatMap((r, index) =>
        r.event.kwh === 13 ? [{ index, reason: `unlucky ${r.meta.offset}` }] : [],
      );
      if (refused.length > 0) throw new RefusedRecordsError(refused);
    });
    await fake.deliverBatch([reading(1), reading(13), reading(3), reading(13), reading(5)]);
    // Two calls, not one per record.
    expect(slices).toEqual([
      [1, 13, 3, 13, 5],
      [1, 3, 5],
    ]);
    expect(fake.deadLetters.map((r) => r.messages[0]!.headers![DLQ_HEADERS.sourceOffset])).toEqual([
      '1',
      '3',
    ]);
    expect(fake.deadLetters.map((r) => r.messages[0]!.headers![DLQ_HEADERS.reason])).toEqual([
      'permanent-error: PermanentEventError: unlucky 1',
      'permanent-error: PermanentEventError: unlucky 3',
    ]);
    expect(fake.resolved).toEqual(['4']);
  });

  it('replays record by record when the records named are not of the slice, and dead-letters nothing before the rest is handled', async () => {
    const slices: number[][] = [];
    const fake = await startedBatch((records) => {
      slices.push(records.map((r) => r.event.kwh));
      if (records.some((r) => r.event.kwh === 13))
        throw new RefusedRecordsError([{ index: 9, reason: 'out of range' }]);
    });
    await fake.deliverBatch([reading(1), reading(13)]);
    expect(slices).toEqual([[1, 13], [1], [13]]);
    expect(fake.deadLetters).toHaveLength(1);

    const failing = await startedBatch((records) => {
      if (records.length > 1) throw new RefusedRecordsError([{ index: 0, reason: 'bad' }]);
      throw new Error('database down');
    });
    await expect(failing.deliverBatch([reading(13), reading(2)])).rejects.toThrow('database down');
    expect(failing.deadLetters).toEqual([]);
    expect(failing.resolved).toEqual([]);
  });

  it('does not resolve a slice whose dead-letter copy was not acknowledged', async () => {
    const fake = await startedBatch(() => {});
    const producer = (
      fake.kafka as unknown as { producer: () => { send: ReturnType<typeof vi.fn> } }
    ).producer();
    producer.send.mockRejectedValueOnce(new Error('broker away'));
    await expect(fake.deliverBatch([reading(1), '{oops'])).rejects.toThrow('broker away');
    expect(fake.resolved).toEqual([]);
  });

  it('takes no further slice once kafkajs stops running (shutdown): the rest is redelivered', async () => {
    const fake = await startedBatch(
      () => {
        fake.stopRunning();
      },
      { maxBatchRecords: 1 },
    );
    await fake.deliverBatch([reading(1), reading(2), reading(3)]);
    expect(fake.resolved).toEqual(['0']);
  });

  it('refuses to mix per-record and batch handlers in one consumer', () => {
    const other = defineTopic({ ...contract, name: 'meter.other.v1' });
    const consumer = new EventConsumer({ kafka: fakeKafka().kafka, groupId: 'g', logger }).subscribe(
      contract,
      () => {},
    );
    expect(() => consumer.subscribeBatch(other, () => {})).toThrow(/mixes per-record and batch/);
  });
});
