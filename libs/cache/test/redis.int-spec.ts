import { afterEach, describe, expect, it } from 'vitest';
import { type Redis, RedisHealthProbe, closeRedis, createRedis } from '../src';
import { capturingLogger, silentServer, stackEndpoints, uniqueName, waitUntil } from './cache-test-helpers';

describe('createRedis and RedisHealthProbe (real Redis)', () => {
  const { redisUrl } = stackEndpoints();
  const clients: Redis[] = [];
  const open = (url: string, options?: Parameters<typeof createRedis>[1]) => {
    const redis = createRedis(url, options);
    clients.push(redis);
    return redis;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((redis) => closeRedis(redis)));
  });

  it('connects lazily on the first command and round-trips a value until its TTL expires', async () => {
    const prefix = `${uniqueName('mk-test')}:`;
    const redis = open(redisUrl, { keyPrefix: prefix });
    expect(redis.status).toBe('wait');

    await expect(redis.set('nonce', 'n-1', 'PX', 400)).resolves.toBe('OK');
    expect(redis.status).toBe('ready');
    await expect(redis.get('nonce')).resolves.toBe('n-1');
    const ttl = await redis.pttl('nonce');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(400);
    // The prefix is really on the stored key.
    const raw = open(redisUrl);
    await expect(raw.get(`${prefix}nonce`)).resolves.toBe('n-1');

    await waitUntil(async () => (await redis.get('nonce')) === null, {
      timeoutMs: 3_000,
      description: 'the key to expire',
    });
    await expect(redis.exists('nonce')).resolves.toBe(0);
  });

  it('probe passes against the running server', async () => {
    const probe = new RedisHealthProbe(open(redisUrl));
    expect(probe.name).toBe('redis');
    await expect(probe.check()).resolves.toBeUndefined();
  });

  it('fails commands and the probe fast when nothing listens, logging the outage instead of throwing it', async () => {
    const { logger, lines } = capturingLogger();
    const redis = open('redis://127.0.0.1:1', { logger });

    let started = Date.now();
    await expect(redis.get('anything')).rejects.toThrow(/max retries per request/i);
    expect(Date.now() - started).toBeLessThan(1_000);

    started = Date.now();
    await expect(new RedisHealthProbe(redis, 1_500).check()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1_000);

    const errors = lines.filter((line) => line.level === 'error');
    expect(errors).toHaveLength(1); // once per outage, not once per reconnect attempt
    expect(errors[0]).toMatchObject({
      msg: expect.stringContaining('redis: connection failed'),
      err: { code: 'ECONNREFUSED' },
    });
  });

  it('fails within the command timeout and the probe timeout when the server hangs', async () => {
    const hung = await silentServer();
    try {
      const redis = open(`redis://127.0.0.1:${hung.port}`, {
        logger: capturingLogger().logger,
        commandTimeoutMs: 300,
      });
      let started = Date.now();
      await expect(redis.get('anything')).rejects.toThrow(/timed out/i);
      expect(Date.now() - started).toBeLessThan(1_000);

      const patient = open(`redis://127.0.0.1:${hung.port}`, {
        logger: capturingLogger().logger,
        commandTimeoutMs: 60_000,
      });
      started = Date.now();
      await expect(new RedisHealthProbe(patient, 300).check()).rejects.toThrow(
        /redis did not answer within 300 ms/,
      );
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await hung.close();
    }
  });
});
