import { deadLetterTopicName } from '@meterkeep/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { EventConsumer, EventProducer, ensureTopics } from '../src';
import {
  committedOffsets,
  fastConsumer,
  groupCaughtUp,
  meterContract,
  meterReading,
  recordCount,
  testKafka,
  testLogger,
  uniqueGroupId,
  waitUntil,
} from './kafka-test-kit';

describe('transient handler errors', () => {
  const kafka = testKafka();
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function topicWith(subject: string, count: number) {
    const contract = meterContract(subject);
    await ensureTopics(kafka, [contract], { deadLetter: true });
    const producer = new EventProducer({ kafka });
    await producer.connect();
    const events = Array.from({ length: count }, (_, i) => meterReading(i));
    await producer.publishMany(contract, events);
    await producer.disconnect();
    return { contract, events };
  }

  it('retries in place with backoff and handles the event exactly once when it recovers', async () => {
    const { contract } = await topicWith('transient', 3);
    const attempts: { seq: number; attempt: number; at: number }[] = [];
    const succeeded: number[] = [];
    const groupId = uniqueGroupId('transient');
    const consumer = new EventConsumer({
      kafka,
      groupId,
      logger: testLogger,
      ...fastConsumer,
      retry: { attempts: 3, initialMs: 100, maxMs: 1_000 },
    }).subscribe(contract, (event, meta) => {
      attempts.push({ seq: event.seq, attempt: meta.attempt, at: Date.now() });
      if (event.seq === 1 && meta.attempt < 3) throw new Error('database briefly unavailable');
      succeeded.push(event.seq);
    });
    await consumer.start();
    cleanup.push(() => consumer.stop());

    await waitUntil(() => succeeded.length === 3, { description: 'all three events handled' });
    expect(succeeded).toEqual([0, 1, 2]);
    const retried = attempts.filter((a) => a.seq === 1);
    expect(retried.map((a) => a.attempt)).toEqual([1, 2, 3]);
    // Backoff with equal jitter: at least half of 100 ms, then half of 200 ms.
    expect(retried[1]!.at - retried[0]!.at).toBeGreaterThanOrEqual(45);
    expect(retried[2]!.at - retried[1]!.at).toBeGreaterThanOrEqual(95);
    await waitUntil(() => groupCaughtUp(kafka, groupId, contract.name), { description: 'offsets committed' });
    expect(await recordCount(kafka, deadLetterTopicName(contract.name))).toBe(0);
  });

  it('leaves the record uncommitted when every attempt fails, so a restarted consumer gets it again', async () => {
    const { contract, events } = await topicWith('exhausted', 2);
    const groupId = uniqueGroupId('exhausted');
    let failing = 0;
    const broken = new EventConsumer({
      kafka,
      groupId,
      logger: testLogger,
      ...fastConsumer,
      retry: { attempts: 2, initialMs: 10, maxMs: 10 },
    }).subscribe(contract, () => {
      failing++;
      throw new Error('downstream is down');
    });
    await broken.start();
    await waitUntil(() => failing >= 2, { description: 'the attempts to be used up' });
    await broken.stop();
    expect(broken.state).toBe('stopped');
    // Nothing past the failing first record was committed.
    const committed = await committedOffsets(kafka, groupId, contract.name);
    expect(['-1', '0', undefined]).toContain(committed.get(0));
    expect(await recordCount(kafka, deadLetterTopicName(contract.name))).toBe(0);

    const handled: string[] = [];
    const healed = new EventConsumer({ kafka, groupId, logger: testLogger, ...fastConsumer }).subscribe(
      contract,
      (event) => {
        handled.push(event.eventId);
      },
    );
    await healed.start();
    cleanup.push(() => healed.stop());
    await waitUntil(() => handled.length === 2, { description: 'both events redelivered and handled' });
    expect(handled).toEqual(events.map((e) => e.eventId));
  });
});
