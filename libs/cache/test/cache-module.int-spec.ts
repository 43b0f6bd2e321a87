import { NestFactory } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { type Redis, RedisHealthProbe } from '../src';
import { CacheModule, REDIS } from '../src/nest';
import { stackEndpoints } from './cache-test-helpers';

describe('CacheModule (real Redis)', () => {
  it('provides REDIS and the probe, connects on start and quits on shutdown', async () => {
    const app = await NestFactory.createApplicationContext(
      CacheModule.forRoot({ url: stackEndpoints().redisUrl }),
      {
        logger: false,
      },
    );
    const redis = app.get<Redis>(REDIS);
    await expect(redis.ping()).resolves.toBe('PONG');
    await expect(app.get(RedisHealthProbe).check()).resolves.toBeUndefined();

    await app.close();
    expect(redis.status).toBe('end');
    await expect(redis.ping()).rejects.toThrow(/Connection is closed/);
  });
});
