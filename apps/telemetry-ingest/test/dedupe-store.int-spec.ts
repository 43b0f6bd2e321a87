import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Redis, createRedis } from '@meterkeep/cache';
import { stackEndpoints } from '@meterkeep/testing';
import type { TelemetryIngestConfig } from '../src/config';
import { type Claim, DedupeStore, type ItemsByDay } from '../src/ingest/dedupe-store';

const LIMIT = 3;
const WINDOW_MS = 3_600_000;
const config = {
  TELEMETRY_INSTANCE_ID: 'dedupe-it',
  TELEMETRY_LOCK_TTL_MS: 30_000,
  TELEMETRY_DEDUPE_WINDOW_MS: WINDOW_MS,
  TELEMETRY_MAX_OBIS_PER_METER: LIMIT,
} as TelemetryIngestConfig;

describe('telemetry ingest: the de-duplication state a meter can make Redis hold (real Redis)', () => {
  let redis: Redis;
  let store: DedupeStore;
  const tenantId = `dedupe-${randomBytes(4).toString('hex')}`;
  const meterId = `MTR-${randomBytes(4).toString('hex').toUpperCase()}`;
  let batches = 0;

  beforeAll(() => {
    redis = createRedis(stackEndpoints().redisUrl);
    store = new DedupeStore(redis, config);
  });
  afterAll(async () => {
    const keys = await redis.keys(`tl:{${tenantId}/*`);
    if (keys.length > 0) await redis.del(...keys);
    redis?.disconnect();
  });

  const itemsOf = (obis: readonly string[]): ItemsByDay =>
    new Map([['20000', obis.map((code) => `${code}|1728000000000|15`)]]);

  /** Claims a batch of readings with these OBIS codes; commits those not refused unless `commit` is false. */
  async function send(obis: readonly string[], commit = true) {
    const batchId = `b-${++batches}`;
    const claim = (await store.claim(tenantId, meterId, batchId, itemsOf(obis), obis)) as Extract<
      Claim,
      { kind: 'claimed' }
    >;
    expect(claim.kind).toBe('claimed');
    const kept = obis.filter((code) => !claim.refusedObis.has(code));
    const answer = { batchId, meterId, accepted: kept.length, duplicates: 0, rejected: [], replayed: false };
    if (commit) await store.commit(tenantId, meterId, batchId, itemsOf(kept), kept, claim.lock, answer);
    else await store.release(tenantId, meterId, claim.lock);
    return [...claim.refusedObis];
  }

  it('keeps at most TELEMETRY_MAX_OBIS_PER_METER distinct OBIS codes per meter, refusing readings of further ones', async () => {
    expect(await send(['1-0:1.8.0', '1-0:2.8.0'])).toEqual([]);
    // One place left: the first new code takes it, the others are refused; known codes always pass.
    expect(await send(['1-0:1.8.0', '1-0:3.8.0', '1-0:4.8.0', '1-0:5.8.0'])).toEqual([
      '1-0:4.8.0',
      '1-0:5.8.0',
    ]);
    expect(await send(['1-0:2.8.0', '1-0:4.8.0'])).toEqual(['1-0:4.8.0']);
    const obisKey = `tl:{${tenantId}/${meterId}}:obis`;
    expect((await redis.smembers(obisKey)).sort()).toEqual(['1-0:1.8.0', '1-0:2.8.0', '1-0:3.8.0']);
    const ttl = await redis.pttl(obisKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(WINDOW_MS);
    // Nothing of a refused code reached the day sets.
    const day = await redis.smembers(`tl:{${tenantId}/${meterId}}:d:20000`);
    expect(day.some((identity) => identity.startsWith('1-0:4.8.0') || identity.startsWith('1-0:5.8.0'))).toBe(
      false,
    );
  });

  it('counts only codes of batches written: a batch claimed and given up takes no place', async () => {
    const other = `${meterId}-B`;
    const claim = async (obis: string[]) =>
      (await store.claim(tenantId, other, `x-${++batches}`, itemsOf(obis), obis)) as Extract<
        Claim,
        { kind: 'claimed' }
      >;
    const first = await claim(['1-0:1.8.0', '1-0:2.8.0', '1-0:3.8.0']);
    await store.release(tenantId, other, first.lock);
    const second = await claim(['1-0:6.8.0', '1-0:7.8.0', '1-0:8.8.0']);
    expect([...second.refusedObis]).toEqual([]);
    await store.release(tenantId, other, second.lock);
  });
});
