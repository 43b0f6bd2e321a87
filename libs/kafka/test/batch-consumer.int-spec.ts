import { DLQ_HEADERS, deadLetterTopicName } from '@meterkeep/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { EventConsumer, EventProducer, type EventRecord, ensureTopics } from '../src';
import {
  type MeterReading,
  committedOffsets,
  fastConsumer,
  groupCaughtUp,
  meterContract,
  meterReading,
  readTopic,
  testKafka,
  testLogger,
  uniqueGroupId,
  waitUntil,
} from './kafka-test-kit';

// EventConsumer.subscribeBatch on the real broker: slices in offset order, bad records to the DLQ
// with their reason, offsets committed only for slices whose handler resolved.
describe('EventConsumer batch mode on the broker', () => {
  const kafka = testKafka();
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function topicWith(subject: string, count: number, poisonAt?: number) {
    const contract = meterContract(subject);
    await ensureTopics(kafka, [contract], { deadLetter: true });
    const events = Array.from({ length: count }, (_, i) => meterReading(i));
    const producer = new EventProducer({ kafka });
    await producer.connect();
    const raw = kafka.producer();
    await raw.connect();
    try {
      if (poisonAt === undefined) await producer.publishMany(contract, events);
      else {
        await producer.publishMany(contract, events.slice(0, poisonAt));
        await raw.send({
          topic: contract.name,
          messages: [{ key: 'tenant-a/meter-x', value: JSON.stringify({ seq: 'not a number' }) }],
        });
        await producer.publishMany(contract, events.slice(poisonAt));
      }
    } finally {
      await Promise.all([producer.disconnect(), raw.disconnect()]);
    }
    return { contract, events };
  }

  it('hands 2,000 records over in slices of at most maxBatchRecords, in order; the bad one dead-lettered; all committed', async () => {
    const { contract, events } = await topicWith('batch', 2_000, 700);
    const slices: EventRecord<MeterReading>[][] = [];
    const groupId = uniqueGroupId('batch');
    const consumer = new EventConsumer({
      kafka,
      groupId,
      logger: testLogger,
      ...fastConsumer,
      maxBatchRecords: 300,
    }).subscribeBatch(contract, (records) => {
      slices.push([...records]);
    });
    await consumer.start();
    cleanup.push(() => consumer.stop());

    await waitUntil(() => slices.flat().length === events.length, { description: 'every record handled' });
    expect(slices.flat().map((r) => r.event.seq)).toEqual(events.map((e) => e.seq));
    expect(Math.max(...slices.map((s) => s.length))).toBeLessThanOrEqual(300);
    // Batches, not records one by one.
    expect(slices.length).toBeLessThan(events.length / 50);
    await waitUntil(() => groupCaughtUp(kafka, groupId, contract.name), { description: 'offsets committed' });
    const dead = await readTopic(kafka, deadLetterTopicName(contract.name), 1);
    expect(dead[0]!.headers[DLQ_HEADERS.reason]).toMatch(/^contract-violation: /);
    expect(dead[0]!.headers[DLQ_HEADERS.sourceOffset]).toBe('700');
  });

  it('commits nothing of a slice whose handler keeps failing; a restarted consumer gets it again', async () => {
    const { contract, events } = await topicWith('batch-failing', 50);
    const groupId = uniqueGroupId('batch-failing');
    let failures = 0;
    const broken = new EventConsumer({
      kafka,
      groupId,
      logger: testLogger,
      ...fastConsumer,
      retry: { attempts: 2, initialMs: 10, maxMs: 10 },
    }).subscribeBatch(contract, () => {
      failures++;
      throw new Error('database down');
    });
    await broken.start();
    await waitUntil(() => failures >= 2, { description: 'the attempts to be used up' });
    await broken.stop();
    expect(['-1', '0', undefined]).toContain((await committedOffsets(kafka, groupId, contract.name)).get(0));

    const handled: number[] = [];
    const healed = new EventConsumer({ kafka, groupId, logger: testLogger, ...fastConsumer }).subscribeBatch(
      contract,
      (records) => {
        handled.push(...records.map((r) => r.event.seq));
      },
    );
    await healed.start();
    cleanup.push(() => healed.stop());
    await waitUntil(() => handled.length === events.length, { description: 'every record redelivered' });
    expect(handled).toEqual(events.map((e) => e.seq));
  });
});
