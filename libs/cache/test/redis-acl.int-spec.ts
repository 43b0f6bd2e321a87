import { redisSecurity } from '@meterkeep/config';
import { principalEnv } from '@meterkeep/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { closeRedis, createRedis } from '../src';
import { stackEndpoints, uniqueName } from './cache-test-helpers';

// Every stack authenticates but the container one (testcontainers), which is not set up for it yet: a
// plaintext stack fails here.
const containers = process.env.METERKEEP_STACK_SOURCE === 'testcontainers';

describe.skipIf(containers)("a service's Redis ACL user (local stack)", () => {
  const { redisUrl } = stackEndpoints();
  const bootstrap = createRedis(redisUrl, {
    ...redisSecurity({ REDIS_URL: redisUrl, ...principalEnv('bootstrap') }),
    commandTimeoutMs: 3_000,
  });
  afterAll(() => closeRedis(bootstrap));

  it('writes under its own prefix, and is refused (NOPERM) anywhere else', async () => {
    const own = `bootstrap:${uniqueName('acl')}`;
    await expect(bootstrap.set(own, 'v', 'PX', 5_000)).resolves.toBe('OK');
    await expect(bootstrap.set(`tl:${uniqueName('acl')}`, 'v')).rejects.toThrow(/NOPERM/);
    await expect(bootstrap.get('some-other-service:key')).rejects.toThrow(/NOPERM/);
    // Inside a script too: the script runs with the caller's rights.
    await expect(bootstrap.eval("return redis.call('SET', KEYS[1], 'v')", 1, 'tl:x')).rejects.toThrow(
      /NOPERM/,
    );
  });

  it('may not run the dangerous commands', async () => {
    await expect(bootstrap.flushdb()).rejects.toThrow(/NOPERM/);
    await expect(bootstrap.keys('*')).rejects.toThrow(/NOPERM/);
    await expect(bootstrap.config('GET', 'requirepass')).rejects.toThrow(/NOPERM/);
  });

  it('cannot log in with a wrong password', async () => {
    const intruder = createRedis(redisUrl, {
      username: principalEnv('bootstrap').REDIS_USERNAME,
      password: 'not-the-password',
      commandTimeoutMs: 2_000,
    });
    try {
      await expect(intruder.ping()).rejects.toThrow(/WRONGPASS|max retries|invalid/i);
    } finally {
      await closeRedis(intruder);
    }
  });
});
