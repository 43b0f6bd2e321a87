import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENROLLMENT_API_KEY_REVOCATIONS } from '@meterkeep/contracts';
import { EnrollmentHarness, TopicTap } from './enrollment-test-kit';

const ROUTE = '/internal/v1/api-keys/introspect';

describe('enrollment: the internal API-key introspection other services’ operator APIs rely on', () => {
  let h: EnrollmentHarness;
  let tenantId: string;
  let adminKey: string;
  let operator: string;
  let revocations: TopicTap;

  beforeAll(async () => {
    h = await EnrollmentHarness.start();
    ({ tenantId, adminKey } = await h.tenant());
    operator = await h.key(adminKey, 'operator');
    revocations = await TopicTap.open(h.kafka, ENROLLMENT_API_KEY_REVOCATIONS);
  });
  afterAll(async () => {
    await revocations?.close();
    await h?.stop();
  });

  const introspect = (body: unknown, as: string | null = 'privacy') =>
    h.internal<Record<string, unknown>>(ROUTE, body, as);
  const keyIdOf = (apiKey: string) => /^mk_([^_]+)_/.exec(apiKey)![1]!;

  it('resolves a valid key to its tenant, key id, role and actor', async () => {
    const response = await introspect({ apiKey: operator });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      tenantId,
      keyId: keyIdOf(operator),
      role: 'operator',
      actor: `key_${keyIdOf(operator)}`,
    });
    expect((await introspect({ apiKey: adminKey })).body).toMatchObject({ tenantId, role: 'admin' });
    // The key travels in the body and is never logged.
    // The secret is everything after `mk_<keyId>_`; base64url may itself hold '_'.
    expect(h.logs.join('\n')).not.toContain(operator.split('_').slice(2).join('_'));
  });

  it('answers 401 for a revoked key, an unknown one and garbage', async () => {
    const auditor = await h.key(adminKey, 'auditor');
    expect((await introspect({ apiKey: auditor })).status).toBe(200);
    expect((await h.request('DELETE', `/v1/api-keys/${keyIdOf(auditor)}`, { key: adminKey })).status).toBe(
      204,
    );
    const wrongSecret = `${operator.slice(0, -4)}AAAA`;
    for (const apiKey of [auditor, wrongSecret, 'mk_AAAAAAAAAAAA_notasecret', 'garbage', 'Bearer x y']) {
      const response = await introspect({ apiKey });
      expect(response.status, apiKey).toBe(401);
      expect(response.body).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
  });

  it('publishes a revocation by key id, never the key or its hash', async () => {
    const auditor = await h.key(adminKey, 'auditor');
    const keyId = keyIdOf(auditor);
    expect((await h.request('DELETE', `/v1/api-keys/${keyId}`, { key: adminKey })).status).toBe(204);
    const [record] = await revocations.waitFor((r) => r.json.keyId === keyId, 1, 'revocation');
    expect(record!.key).toBe(`${tenantId}/${keyId}`);
    expect(Object.keys(record!.json).sort()).toEqual(['eventId', 'keyId', 'occurredAt', 'tenantId']);
    expect(record!.json.tenantId).toBe(tenantId);
    expect(record!.value).not.toContain(auditor.split('_').slice(2).join('_'));
    // Another tenant's key is not found here, and nothing is published for it: the topic has one
    // partition, so a revocation made after it arrives after anything it published.
    const other = await h.tenant();
    const foreign = keyIdOf(await h.key(other.adminKey, 'operator'));
    expect((await h.request('DELETE', `/v1/api-keys/${foreign}`, { key: adminKey })).status).toBe(404);
    const later = keyIdOf(await h.key(adminKey, 'auditor'));
    expect((await h.request('DELETE', `/v1/api-keys/${later}`, { key: adminKey })).status).toBe(204);
    await revocations.waitFor((r) => r.json.keyId === later, 1, 'the later revocation');
    expect(revocations.records.filter((r) => r.json.keyId === foreign)).toEqual([]);
  });

  it('answers 400 for a malformed body', async () => {
    for (const body of [{}, { apiKey: '' }, { apiKey: 42 }, { apiKey: operator, extra: true }]) {
      const response = await introspect(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body).toMatchObject({ code: 'INVALID_REQUEST' });
    }
  });

  it('answers privacy only: another service gets 403, no certificate fails TLS, the plain port 404', async () => {
    for (const other of ['bootstrap', 'telemetry-ingest']) {
      const response = await introspect({ apiKey: operator }, other);
      expect(response.status).toBe(403);
      expect(response.body).toMatchObject({ code: 'CALLER_NOT_ALLOWED' });
      expect(response.body).not.toHaveProperty('tenantId');
    }
    await expect(introspect({ apiKey: operator }, null)).rejects.toThrow();
    const plain = await h.request('POST', ROUTE, { json: { apiKey: operator }, key: adminKey });
    expect(plain.status).toBe(404);
  });
});
