import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackEndpoints } from '@meterkeep/testing';
import { runCli } from '../src/cli/enrollment-cli';
import { EnrollmentHarness, uniqueTenant } from './enrollment-test-kit';

describe('enrollment: API keys, roles and tenant scope', () => {
  let h: EnrollmentHarness;
  let adminKey: string;

  beforeAll(async () => {
    h = await EnrollmentHarness.start();
    ({ adminKey } = await h.tenant());
  });
  afterAll(() => h?.stop());

  it('refuses a call without a key, with a malformed one and with an unknown one: 401 UNAUTHENTICATED', async () => {
    const unknown = `mk_abcdefghijkl_${'A'.repeat(43)}`;
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer nonsense' },
      { authorization: `Bearer ${unknown}` },
      { authorization: `Basic ${adminKey}` },
    ];
    for (const headers of attempts) {
      const response = await h.request('GET', '/v1/devices', { headers });
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.any(String) });
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    // A known key id with a wrong secret is refused too.
    const wrongSecret = `${adminKey.slice(0, 16)}${'B'.repeat(43)}`;
    expect((await h.request('GET', '/v1/devices', { key: wrongSecret })).status).toBe(401);
    expect((await h.request('GET', '/v1/devices', { key: adminKey })).status).toBe(200);
  });

  it('answers 401 on every operator route of the OpenAPI document when there is no key', async () => {
    const document = await h.request<{ paths: Record<string, Record<string, unknown>> }>('GET', '/docs-json');
    expect(document.status).toBe(200);
    const operations = Object.entries(document.body.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => [method.toUpperCase(), path] as const),
      );
    expect(operations.length).toBeGreaterThanOrEqual(14);
    for (const [method, template] of operations) {
      const path = template
        .replace('{caId}', '00000000-0000-4000-8000-000000000000')
        .replace('{uploadId}', '00000000-0000-4000-8000-000000000000')
        .replace('{keyId}', 'abcdefghijkl')
        .replace('{endpoint}', 'MTR-1');
      const response = await h.request(method, path);
      expect({ method, path, status: response.status }).toEqual({ method, path, status: 401 });
    }
  });

  it('serves the OpenAPI document with the bearer scheme and the request and response schemas', async () => {
    const ui = await h.request('GET', '/docs');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
    const { body } = await h.request<{
      paths: Record<string, Record<string, Record<string, unknown>>>;
      components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
    }>('GET', '/docs-json');
    expect(body.paths['/v1/devices']!.get!['x-roles']).toEqual(['admin', 'operator', 'auditor']);
    expect(body.paths['/v1/devices/{endpoint}/decommission']!.post!['x-roles']).toEqual(['admin']);
    expect(body.components.securitySchemes['api-key']).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(body.components.schemas)).toEqual(
      expect.arrayContaining([
        'Device',
        'DevicePage',
        'ClaimDeviceRequest',
        'EnrollmentListReport',
        'ManufacturerCa',
        'Error',
      ]),
    );
  });

  it('gives each role its rights: auditor reads only, operator cannot manage keys or decommission', async () => {
    const auditor = await h.key(adminKey, 'auditor');
    const operator = await h.key(adminKey, 'operator');
    expect((await h.request('GET', '/v1/devices', { key: auditor })).status).toBe(200);
    expect((await h.request('GET', '/v1/manufacturer-cas', { key: auditor })).status).toBe(200);

    const claim = { certificateSha256: 'ab'.repeat(32) };
    const refusedClaim = await h.request('POST', '/v1/devices/MTR-AUDIT-1/claim', {
      key: auditor,
      json: claim,
    });
    expect(refusedClaim.status).toBe(403);
    expect(refusedClaim.body).toMatchObject({ code: 'FORBIDDEN', message: expect.any(String) });
    const refusedUpload = await h.request('POST', '/v1/enrollment-lists', {
      key: auditor,
      body: 'endpoint_name,certificate_sha256\n',
      contentType: 'text/csv',
    });
    expect(refusedUpload.status).toBe(403);
    expect((await h.request('POST', '/v1/api-keys', { key: auditor, json: { role: 'admin' } })).status).toBe(
      403,
    );
    expect((await h.request('POST', '/v1/api-keys', { key: operator, json: { role: 'admin' } })).status).toBe(
      403,
    );
    expect((await h.request('GET', '/v1/api-keys', { key: operator })).status).toBe(403);
    expect((await h.request('POST', '/v1/devices/MTR-AUDIT-1/decommission', { key: operator })).status).toBe(
      403,
    );
    // What the operator may do, it may do: the refusal above was the role, not the route.
    expect(
      (await h.request('POST', '/v1/devices/MTR-AUDIT-1/claim', { key: operator, json: claim })).status,
    ).toBe(200);
  });

  it('lists keys without secrets, and refuses a revoked key from the next request on', async () => {
    const operator = await h.key(adminKey, 'operator');
    const keyId = operator.slice(3, 15);
    expect((await h.request('GET', '/v1/devices', { key: operator })).status).toBe(200);

    const list = await h.request<{ items: { keyId: string; revokedAt: string | null }[] }>(
      'GET',
      '/v1/api-keys',
      {
        key: adminKey,
      },
    );
    expect(list.body.items.map((k) => k.keyId)).toContain(keyId);
    expect(list.text).not.toContain(operator.slice(16));
    expect(list.text).not.toContain(adminKey.slice(16));

    expect((await h.request('DELETE', `/v1/api-keys/${keyId}`, { key: adminKey })).status).toBe(204);
    const revoked = await h.request('GET', '/v1/devices', { key: operator });
    expect(revoked.status).toBe(401);
    expect(revoked.body).toMatchObject({ code: 'UNAUTHENTICATED' });
    const after = await h.request<{ items: { keyId: string; revokedAt: string | null }[] }>(
      'GET',
      '/v1/api-keys',
      {
        key: adminKey,
      },
    );
    expect(after.body.items.find((k) => k.keyId === keyId)?.revokedAt).toEqual(expect.any(String));
  });

  it("cannot see or revoke another tenant's key", async () => {
    const other = await h.tenant('other');
    const otherKey = await h.key(other.adminKey, 'operator');
    const revoke = await h.request('DELETE', `/v1/api-keys/${otherKey.slice(3, 15)}`, { key: adminKey });
    expect(revoke.status).toBe(404);
    expect((await h.request('GET', '/v1/devices', { key: otherKey })).status).toBe(200);
    const list = await h.request('GET', '/v1/api-keys', { key: adminKey });
    expect(list.text).not.toContain(otherKey.slice(3, 15));
  });

  it('answers bad input with 400 and a code, never 500', async () => {
    const bad = [
      await h.request('POST', '/v1/api-keys', { key: adminKey, json: { role: 'root' } }),
      await h.request('POST', '/v1/api-keys', { key: adminKey, json: { role: 'admin', extra: 1 } }),
      await h.request('POST', '/v1/api-keys', {
        key: adminKey,
        body: '{"role":',
        contentType: 'application/json',
      }),
      await h.request('GET', '/v1/devices?limit=5000', { key: adminKey }),
      await h.request('GET', '/v1/devices?state=BROKEN', { key: adminKey }),
      await h.request('GET', '/v1/devices?cursor=garbage', { key: adminKey }),
      await h.request('DELETE', '/v1/api-keys/NOT-A-KEY-ID', { key: adminKey }),
      await h.request('GET', '/v1/manufacturer-cas/not-a-uuid', { key: adminKey }),
    ];
    for (const response of bad) {
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        code: expect.stringMatching(/^[A-Z_]+$/),
        message: expect.any(String),
      });
    }
  });

  it('creates a tenant and its first admin key from the command line, printing the key once', async () => {
    const tenantId = uniqueTenant('cli');
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      env: { DATABASE_URL: stackEndpoints().databaseUrl },
      out: (line: string) => out.push(line),
      err: (line: string) => err.push(line),
      schema: h.schema,
    };
    expect(await runCli(['tenant', 'create', tenantId, '--name', 'North Utility'], io)).toBe(0);
    expect(out).toHaveLength(1);
    const [key] = out;
    expect(key).toMatch(/^mk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    expect(err.join('\n')).not.toContain(key!.slice(16));
    expect((await h.request('GET', '/v1/api-keys', { key })).status).toBe(200);

    // Never twice, never a default: a second create is refused and prints no key.
    out.length = 0;
    expect(await runCli(['tenant', 'create', tenantId], io)).toBe(1);
    expect(out).toEqual([]);
    expect(err.at(-1)).toMatch(/TENANT_EXISTS/);
    expect(await runCli(['tenant', 'create', 'Bad_Id'], io)).toBe(1);
    expect(await runCli(['tenant', 'delete', tenantId], io)).toBe(2);
    // Only the bootstrap of trust is on the database: further keys go through REST.
    expect(await runCli(['api-key', 'create', tenantId, '--role', 'auditor'], io)).toBe(2);
    expect(err.join('\n')).toMatch(/meterkeep-admin api-keys create/);
    expect(out).toEqual([]);
  });

  it('never logs an API key secret', () => {
    const log = h.logs.join('\n');
    expect(log).not.toContain(adminKey.slice(16));
    expect(log).not.toMatch(/mk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}/);
  });
});
