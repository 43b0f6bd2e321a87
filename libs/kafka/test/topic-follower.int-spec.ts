import { afterEach, describe, expect, it } from 'vitest';
import { EventProducer, TopicFollower, ensureTopics, fetchEndOffsets } from '../src';
import {
  fastConsumer,
  meterContract,
  meterReading,
  testKafka,
  testLogger,
  uniqueGroupId,
  waitUntil,
} from './kafka-test-kit';

describe('TopicFollower', () => {
  const kafka = testKafka();
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function producerFor(contract: ReturnType<typeof meterContract>): Promise<EventProducer> {
    await ensureTopics(kafka, [contract], { deadLetter: true });
    const producer = new EventProducer({ kafka, logger: testLogger, contracts: [contract] });
    await producer.connect();
    cleanup.push(() => producer.disconnect());
    return producer;
  }

  function follower(onCaughtUp?: () => void): TopicFollower {
    const made = new TopicFollower({
      kafka,
      groupId: uniqueGroupId('follower'),
      logger: testLogger,
      ...fastConsumer,
      // Both partitions at once: a handler held at the gate must not hold the other partition's batch.
      partitionsConsumedConcurrently: 2,
      ...(onCaughtUp && { onCaughtUp }),
    });
    cleanup.push(() => made.stop());
    return made;
  }

  it('is caught up only once every record that was there when it began has been handled', async () => {
    const contract = meterContract('follow', 2);
    const producer = await producerFor(contract);
    const before = Array.from({ length: 10 }, (_, i) => meterReading(i, `meter-${i}`));
    await producer.publishMany(contract, before);
    const ends = await fetchEndOffsets(kafka, [contract.name]);
    // Both partitions hold records; each end is the offset of its last one.
    expect([...ends.keys()].sort()).toEqual([`${contract.name}:0`, `${contract.name}:1`]);
    expect([...ends.values()].reduce((sum, last) => sum + last + 1, 0)).toBe(10);

    // The last record waits for a gate: until it is handled, the follower is not caught up.
    const last = before.at(-1)!;
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const handled: string[] = [];
    let caughtUpCalls = 0;
    const following = follower(() => (caughtUpCalls += 1)).subscribe(contract, async (event) => {
      if (event.eventId === last.eventId) await gate;
      handled.push(event.eventId);
    });
    // Runs first: a failed test must not leave stop() waiting at the gate.
    cleanup.push(() => Promise.resolve(open()));
    expect(following.endOffsets).toBeUndefined();
    await following.start();
    expect(following.endOffsets).toEqual(ends);
    await waitUntil(() => handled.length >= 9, { description: 'the nine records before the gate' });
    expect(following.caughtUp).toBe(false);
    expect(caughtUpCalls).toBe(0);

    open();
    await waitUntil(() => following.caughtUp, { description: 'the follower to catch up' });
    expect(handled.sort()).toEqual(before.map((e) => e.eventId).sort());
    expect(caughtUpCalls).toBe(1);

    // Records written after it began are followed too, and change nothing about having caught up.
    const after = meterReading(99, 'meter-99');
    await producer.publish(contract, after);
    await waitUntil(() => handled.includes(after.eventId), { description: 'the later record' });
    expect(following.caughtUp).toBe(true);
    expect(caughtUpCalls).toBe(1);
  });

  it('catches up when the last record of a partition is not of the contract (dead-lettered)', async () => {
    const contract = meterContract('follow-dlq', 1);
    const producer = await producerFor(contract);
    await producer.publish(contract, meterReading(1, 'meter-1'));
    // A foreign record after it, as another writer's bug would leave one: the consumer dead-letters it.
    const raw = kafka.producer();
    await raw.connect();
    await raw.send({ topic: contract.name, messages: [{ key: 'meter-2', value: '{"not":"an event"}' }] });
    await raw.disconnect();
    const handled: string[] = [];
    const following = follower().subscribe(contract, (event) => void handled.push(event.eventId));
    await following.start();
    await waitUntil(() => following.caughtUp, {
      description: 'the follower to catch up past the foreign record',
    });
    expect(handled).toHaveLength(1);
  });

  it('is caught up as soon as it has joined when the topics are empty', async () => {
    const contract = meterContract('follow-empty', 2);
    await producerFor(contract);
    const following = follower().subscribe(contract, () => undefined);
    await following.start();
    expect(following.endOffsets?.size).toBe(0);
    expect(following.caughtUp).toBe(true);
    expect(following.state).toBe('running');
  });

  it('does not join when stopped while it fetches the end offsets', async () => {
    const contract = meterContract('follow-stopped', 1);
    await producerFor(contract);
    const following = follower().subscribe(contract, () => undefined);
    const starting = following.start();
    await following.stop();
    await starting;
    expect(following.state).toBe('idle');
    expect(following.caughtUp).toBe(false);
  });
});
