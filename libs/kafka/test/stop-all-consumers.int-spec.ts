// On SIGTERM a service stops every consumer at once (stopAllEventConsumers): each may wait its
// disconnect timeout to leave its group after a broker restart, and one after another a service with
// many consumers outlasted its shutdown timeout (privacy exited 1 in a CI rehearsal).
import { afterEach, describe, expect, it } from 'vitest';
import { EventConsumer, ensureTopics, stopAllEventConsumers } from '../src';
import { fastConsumer, meterContract, testKafka, testLogger, uniqueGroupId } from './kafka-test-kit';

describe('stopAllEventConsumers', () => {
  const kafka = testKafka();
  const consumers: EventConsumer[] = [];
  afterEach(async () => {
    for (const consumer of consumers.splice(0)) await EventConsumer.prototype.stop.call(consumer);
  });

  it('asks every started consumer to stop before any has finished, and leaves none running', async () => {
    const contract = meterContract('stop-all');
    await ensureTopics(kafka, [contract], { deadLetter: true });
    for (let i = 0; i < 3; i++) {
      const consumer = new EventConsumer({
        kafka,
        groupId: uniqueGroupId(`stop-all-${i}`),
        logger: testLogger,
        ...fastConsumer,
      }).subscribe(contract, () => undefined);
      await consumer.start();
      consumers.push(consumer);
    }
    const idle = new EventConsumer({ kafka, groupId: uniqueGroupId('never-started'), logger: testLogger });

    // Each stop is held until all were asked: one after another, only the first would be.
    const asked: number[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    consumers.forEach((consumer, i) => {
      const stop = EventConsumer.prototype.stop.bind(consumer);
      consumer.stop = () => {
        asked.push(i);
        return held.then(stop);
      };
    });
    const stopped = stopAllEventConsumers();
    await new Promise((resolve) => setImmediate(resolve));
    expect(asked.sort()).toEqual([0, 1, 2]);
    release();
    await stopped;
    expect(consumers.map((c) => c.state)).toEqual(['stopped', 'stopped', 'stopped']);
    expect(idle.state).toBe('idle');

    // Stopped consumers leave the registry: nothing is asked again.
    await stopAllEventConsumers();
    expect(asked).toHaveLength(3);
  });
});
