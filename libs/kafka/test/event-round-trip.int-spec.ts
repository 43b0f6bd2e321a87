import { afterEach, describe, expect, it } from 'vitest';
import { EventConsumer, EventProducer, ensureTopics } from '../src';
import {
  fastConsumer,
  groupCaughtUp,
  meterContract,
  meterReading,
  testKafka,
  testLogger,
  uniqueGroupId,
  waitUntil,
} from './kafka-test-kit';

describe('publish and consume through a consumer group', () => {
  const kafka = testKafka();
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('delivers every event once and never redelivers what a stopped consumer committed', async () => {
    const contract = meterContract('roundtrip', 3);
    expect(await ensureTopics(kafka, [contract], { deadLetter: true })).toEqual([
      contract.name,
      `${contract.name}.dlq`,
    ]);
    // Idempotent: a second run finds both and creates nothing.
    expect(await ensureTopics(kafka, [contract], { deadLetter: true })).toEqual([]);

    const producer = new EventProducer({ kafka, logger: testLogger, contracts: [contract] });
    await producer.connect();
    cleanup.push(() => producer.disconnect());

    const first = Array.from({ length: 12 }, (_, i) => meterReading(i));
    await producer.publishMany(contract, first.slice(0, 10));
    await producer.publish(contract, first[10]!);
    await producer.publish(contract, first[11]!);

    const groupId = uniqueGroupId('roundtrip');
    const seenByFirst: string[] = [];
    const firstConsumer = new EventConsumer({
      kafka,
      groupId,
      logger: testLogger,
      ...fastConsumer,
    }).subscribe(contract, (event, meta) => {
      expect(meta.key).toBe(`${event.tenantId}/${event.meterId}`);
      seenByFirst.push(event.eventId);
    });
    await firstConsumer.start();
    expect(firstConsumer.running).toBe(true);
    await waitUntil(() => seenByFirst.length >= first.length, {
      description: 'the first consumer to see 12 events',
    });
    await firstConsumer.stop();
    expect(firstConsumer.state).toBe('stopped');
    expect(seenByFirst.sort()).toEqual(first.map((e) => e.eventId).sort());
    // stop() committed what was handled.
    expect(await groupCaughtUp(kafka, groupId, contract.name)).toBe(true);

    const seenBySecond: string[] = [];
    const secondConsumer = new EventConsumer({
      kafka,
      groupId,
      logger: testLogger,
      ...fastConsumer,
    }).subscribe(contract, (event) => {
      seenBySecond.push(event.eventId);
    });
    await secondConsumer.start();
    cleanup.push(() => secondConsumer.stop());
    const later = Array.from({ length: 5 }, (_, i) => meterReading(100 + i));
    await producer.publishMany(contract, later);
    await waitUntil(() => seenBySecond.length >= later.length, {
      description: 'the second consumer to see 5 events',
    });
    await secondConsumer.stop();
    expect(seenBySecond.sort()).toEqual(later.map((e) => e.eventId).sort());
    expect(await groupCaughtUp(kafka, groupId, contract.name)).toBe(true);
  });
});
