import { describe, expect, it } from 'vitest';
import type { KafkaClient } from './kafka-client';
import { fetchEndOffsets } from './topic-follower';

/** An admin stand-in answering ListOffsets from a script of outcomes (pure logic: no broker). */
function kafkaAnswering(outcomes: (Error | { partition: number; low: string; high: string }[])[]) {
  let calls = 0;
  const kafka = {
    admin: () => ({
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      fetchTopicOffsets: () => {
        const outcome = outcomes[Math.min(calls++, outcomes.length - 1)]!;
        return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
      },
    }),
  } as unknown as KafkaClient;
  return { kafka, calls: () => calls };
}

const notLeader = Object.assign(new Error('This server is not the leader for that topic-partition'), {
  retriable: true,
});

describe('fetchEndOffsets', () => {
  it('asks again while a partition of a topic just created has no leader yet', async () => {
    const { kafka, calls } = kafkaAnswering([
      notLeader,
      notLeader,
      [
        { partition: 0, low: '0', high: '3' },
        { partition: 1, low: '0', high: '0' },
      ],
    ]);
    const ends = await fetchEndOffsets(kafka, ['t.v1']);
    expect([...ends]).toEqual([['t.v1:0', 2]]);
    expect(calls()).toBe(3);
  });

  it('throws a refusal that asking again would not change at once', async () => {
    const denied = Object.assign(new Error('Topic authorization failed'), { retriable: false });
    const { kafka, calls } = kafkaAnswering([denied]);
    await expect(fetchEndOffsets(kafka, ['t.v1'])).rejects.toThrow(/authorization/);
    expect(calls()).toBe(1);
  });
});
