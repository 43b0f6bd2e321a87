import { describe, expect, it } from 'vitest';
import { createRedis, reconnectDelayMs } from './redis.factory';

describe('reconnectDelayMs', () => {
  it('grows exponentially from 50 ms and is capped at 2 s', () => {
    const highest = (attempt: number) => reconnectDelayMs(attempt, () => 1);
    expect([1, 2, 3, 4, 5, 6, 7].map(highest)).toEqual([50, 100, 200, 400, 800, 1600, 2000]);
    expect(highest(1_000)).toBe(2_000);
  });

  it('jitters within the upper half of the ceiling and never stops retrying', () => {
    for (let attempt = 1; attempt < 50; attempt++) {
      const delay = reconnectDelayMs(attempt);
      const ceiling = Math.min(50 * 2 ** (attempt - 1), 2_000);
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
  });
});

describe('createRedis', () => {
  it('opens no connection until it is used', () => {
    const redis = createRedis('redis://127.0.0.1:1');
    expect(redis.status).toBe('wait');
    expect(redis.options).toMatchObject({
      lazyConnect: true,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
    });
    redis.disconnect();
  });
});
