import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Redis, createRedis } from '@meterkeep/cache';
import type { Logger } from '@meterkeep/observability';
import { DomainError } from '@meterkeep/service-runtime';
import { stackEndpoints } from '@meterkeep/testing';
import { RateLimiter } from '../src/bootstrap/rate-limiter';
import type { BootstrapConfig } from '../src/config';
import type { DeviceRecord } from '../src/read-model/read-model.records';

const HOUR = 3_600_000;
const config = {
  BOOTSTRAP_RATE_LIMIT_PER_METER: 10,
  BOOTSTRAP_RATE_LIMIT_PER_SOURCE: 100,
  BOOTSTRAP_REBOOTSTRAP_PER_HOUR: 3,
} as BootstrapConfig;
const quiet = { warn: () => undefined } as unknown as Logger;

/** The Retry-After a refusal carries, or 0 when the attempt was admitted. */
async function retryAfter(attempt: Promise<void>): Promise<number> {
  try {
    await attempt;
    return 0;
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('RATE_LIMITED');
    return (error as DomainError).retryAfterSeconds ?? Number.NaN;
  }
}

describe('bootstrap rate limiter on real Redis: attempts per meter and minute, bootstraps again per hour', () => {
  let redis: Redis;
  let limiter: RateLimiter;
  const tenantId = `rl-${randomBytes(4).toString('hex')}`;
  const device = (name: string) => ({ tenantId, endpointName: name, status: 'ACTIVE' }) as DeviceRecord;

  beforeAll(() => {
    redis = createRedis(stackEndpoints().redisUrl);
    limiter = new RateLimiter(redis, config, quiet);
  });
  afterAll(() => redis?.disconnect());

  it('admits 3 in any 60 minutes, also across a clock hour (a fixed window would admit 6)', async () => {
    const meter = device(`MTR-${randomBytes(4).toString('hex')}`);
    // Three just before a clock hour ends, three more just after it begins.
    const edge = Math.ceil(Date.now() / HOUR) * HOUR;
    const waits: number[] = [];
    for (const at of [edge - 30_000, edge - 20_000, edge - 10_000, edge + 1_000, edge + 2_000, edge + 3_000])
      waits.push(await retryAfter(limiter.rebootstrap(meter, at)));
    expect(waits.slice(0, 3)).toEqual([0, 0, 0]);
    // Told to come back when the first of the three leaves the hour: 60 min after it, not at the edge.
    expect(waits.slice(3)).toEqual([HOUR / 1_000 - 31, HOUR / 1_000 - 32, HOUR / 1_000 - 33]);
    expect(await retryAfter(limiter.rebootstrap(meter, edge - 30_000 + HOUR + 1))).toBe(0);
  });

  it('does not log refused attempts, so a meter retrying eagerly waits out the hour and no longer', async () => {
    const meter = device(`MTR-${randomBytes(4).toString('hex')}`);
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) expect(await retryAfter(limiter.rebootstrap(meter, t0 + i))).toBe(0);
    for (let i = 1; i <= 50; i++)
      expect(await retryAfter(limiter.rebootstrap(meter, t0 + i * 60_000))).toBeGreaterThan(0);
    expect(await retryAfter(limiter.rebootstrap(meter, t0 + HOUR + 1))).toBe(0);
  });

  it('counts per meter and per tenant: one meter spending its allowance leaves the others theirs', async () => {
    const name = `MTR-${randomBytes(4).toString('hex')}`;
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) await limiter.rebootstrap(device(name), t0);
    expect(await retryAfter(limiter.rebootstrap(device(name), t0))).toBeGreaterThan(3_500);
    expect(await retryAfter(limiter.rebootstrap(device(`${name}-2`), t0))).toBe(0);
    const elsewhere = { tenantId: `${tenantId}-b`, endpointName: name, status: 'ACTIVE' } as DeviceRecord;
    expect(await retryAfter(limiter.rebootstrap(elsewhere, t0))).toBe(0);
  });

  it('admits BOOTSTRAP_RATE_LIMIT_PER_METER attempts in any 60 s, across a minute edge too', async () => {
    const name = `MTR-${randomBytes(4).toString('hex')}`;
    const edge = Math.ceil(Date.now() / 60_000) * 60_000;
    for (let i = 0; i < 10; i++)
      expect(await retryAfter(limiter.consume('meter', name, edge - 5_000))).toBe(0);
    expect(await retryAfter(limiter.consume('meter', name, edge + 1_000))).toBe(54);
    expect(await retryAfter(limiter.consume('meter', name, edge + 55_001))).toBe(0);
  });

  it('keeps fixed windows per source address, an IPv6 /64 counted as one', async () => {
    const prefix = `2001:db8:${randomBytes(2).toString('hex')}:1`;
    const t0 = Math.floor(Date.now() / 60_000) * 60_000 + 1_000;
    for (let i = 0; i < 100; i++)
      expect(await retryAfter(limiter.consume('source', `${prefix}::${i.toString(16)}`, t0))).toBe(0);
    expect(await retryAfter(limiter.consume('source', `${prefix}::ffff`, t0 + 9_000))).toBe(50);
    expect(await retryAfter(limiter.consume('source', `${prefix}::1`, t0 + 59_000))).toBe(0);
  });

  it('does not count meters that are not ACTIVE (a first bootstrap)', async () => {
    const pending = { tenantId, endpointName: `MTR-${randomBytes(4).toString('hex')}`, status: 'ENROLLED' };
    for (let i = 0; i < 5; i++)
      expect(await retryAfter(limiter.rebootstrap(pending as DeviceRecord, Date.now()))).toBe(0);
  });
});
