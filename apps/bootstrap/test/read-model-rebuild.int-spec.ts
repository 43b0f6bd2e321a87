import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from '@meterkeep/cache';
import { ReadModelKeys } from '../src/read-model/read-model.keys';
import {
  BootstrapHarness,
  anchorEvent,
  csrFor,
  deviceEvent,
  factoryMeter,
  manufacturer,
  testRedis,
  uniqueTenant,
  waitUntil,
} from './bootstrap-test-kit';

describe('bootstrap: the Redis read model is a cache, rebuilt from the compacted topics', () => {
  let h: BootstrapHarness;
  let redis: Redis;

  beforeAll(async () => {
    // No periodic check within the test: the flush must be noticed by the lookups that miss.
    h = await BootstrapHarness.start({
      env: { BOOTSTRAP_RATE_LIMIT_PER_METER: '120' },
      checkIntervalMs: 600_000,
    });
    redis = testRedis();
    await h.waitCaughtUp();
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.stop();
  });

  it('after a flush, answers 503 (never a final refusal) until it has re-read the topics, then bootstraps known meters again', async () => {
    const oem = manufacturer();
    const tenantId = uniqueTenant('rebuild');
    await h.trustAnchor(anchorEvent(tenantId, 'oem', 'TRUSTED', oem.factoryCa.certificate));
    const meter = factoryMeter(oem);
    await h.enrollDevice(
      deviceEvent(tenantId, meter.endpointName, 'ENROLLED', {
        kind: 'certificate',
        fingerprintSha256: meter.certificate.fingerprintSha256,
      }),
    );
    const bootstrap = (credential = meter) =>
      h.device<{ code?: string; endpointName?: string }>('POST', '/bs/v1/bootstrap', {
        json: { csrPem: csrFor(credential.endpointName).pem },
        credential,
      });
    expect((await bootstrap()).status).toBe(200);
    const generation = await redis.get(ReadModelKeys.generation);
    expect(await redis.get(ReadModelKeys.epoch)).toBe(generation);

    const flushedAt = Date.now();
    await redis.flushdb();
    // Straight after the flush nothing is known, and nothing is refused for good: a CA nobody
    // trusts is "not yet known" too until the topics have been read again (a rebuild takes seconds).
    const stranger = factoryMeter(manufacturer('Stranger OEM'));
    for (const credential of [meter, stranger]) {
      const during = await bootstrap(credential);
      expect(during.status).toBe(503);
      expect(during.body).toMatchObject({ code: 'NOT_YET_KNOWN' });
      expect(Number(during.headers['retry-after'])).toBeGreaterThan(0);
    }

    // The meter, retrying as told, gets in again once the read model is back.
    const answer = await waitUntil(
      async () => {
        const response = await bootstrap();
        if (response.status === 503) return undefined;
        return response;
      },
      { timeoutMs: 90_000, intervalMs: 1_000, description: 'the meter bootstrapped again after the flush' },
    );
    const rebuiltInMs = Date.now() - flushedAt;
    expect(answer.status).toBe(200);
    expect(answer.body.endpointName).toBe(meter.endpointName);
    await h.waitCaughtUp();
    const rebuilt = await redis.get(ReadModelKeys.generation);
    expect(rebuilt).not.toBeNull();
    expect(rebuilt).not.toBe(generation);
    expect(await redis.get(ReadModelKeys.epoch)).toBe(rebuilt);
    expect(h.logs.some((line) => line.includes('rebuilding it from the compacted topics'))).toBe(true);
    // Caught up, a CA nobody trusts is a final refusal again.
    const strangerAfter = await bootstrap(stranger);
    expect(strangerAfter.status).toBe(403);
    expect(strangerAfter.body).toMatchObject({ code: 'CERTIFICATE_INVALID' });
    console.info(`read model rebuilt after the flush; the meter got in again after ${rebuiltInMs} ms`);
  });
});
