import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CACHE_TTL_MS } from '@meterkeep/service-runtime/operator-auth';
import { EnrollmentProcess, PrivacyHarness, waitUntil } from './privacy-test-kit';

describe('privacy: an API key revoked in enrollment', () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let adminKey: string;
  let tenantId: string;

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('privacy');
    ({ tenantId, adminKey } = await enrollment.tenant('pvrevoke'));
    h = await PrivacyHarness.start({ enrollmentUrl: enrollment.internalUrl });
    // Ready means following revocations: an answer cached before then could not be dropped.
    await waitUntil(async () => (await h.request('GET', '/health/ready')).status === 200, {
      timeoutMs: 30_000,
      description: 'privacy ready',
    });
  });
  afterAll(async () => {
    await h?.stop();
    await enrollment?.stop();
  });

  it('is refused as soon as the revocation arrives, not after the 30 s cache', async () => {
    const operator = await enrollment.key(tenantId, 'operator');
    const list = () => h.request('GET', '/v1/occupancies', { key: operator });
    // Used once: privacy now trusts it from its cache for up to 30 s.
    expect((await list()).status).toBe(200);
    expect((await list()).status).toBe(200);

    expect(await enrollment.revoke(adminKey, operator)).toBe(204);
    const revokedAt = Date.now();
    const refused = await waitUntil(
      async () => {
        const response = await list();
        return response.status === 401 ? response : undefined;
      },
      { timeoutMs: MAX_CACHE_TTL_MS, intervalMs: 20, description: 'the revoked key refused' },
    );
    const elapsedMs = Date.now() - revokedAt;
    expect(refused.body).toMatchObject({ code: 'UNAUTHENTICATED' });
    // Typically well under a second; the bound only separates the pushed revocation from the cache's
    // expiry, with room for a loaded machine.
    expect(elapsedMs).toBeLessThan(MAX_CACHE_TTL_MS / 3);
    expect(h.logs.join('\n')).toContain('api key revoked');
    // Stays refused.
    expect((await list()).status).toBe(401);
  });

  it('keeps the tenant’s other keys working', async () => {
    const kept = await enrollment.key(tenantId, 'auditor');
    const gone = await enrollment.key(tenantId, 'auditor');
    expect((await h.request('GET', '/v1/occupancies', { key: kept })).status).toBe(200);
    expect((await h.request('GET', '/v1/occupancies', { key: gone })).status).toBe(200);
    expect(await enrollment.revoke(adminKey, gone)).toBe(204);
    await waitUntil(async () => (await h.request('GET', '/v1/occupancies', { key: gone })).status === 401, {
      timeoutMs: 5_000,
      description: 'the revoked key refused',
    });
    expect((await h.request('GET', '/v1/occupancies', { key: kept })).status).toBe(200);
  });
});
