import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_CHAIN, firstBrokenLink } from '@meterkeep/audit';
import { AUDIT_EVENTS } from '@meterkeep/contracts';
import { stackEndpoints } from '@meterkeep/testing';
import { type CliIo, runCli } from '../src/cli/enrollment-cli';
import { EnrollmentHarness, TopicTap, auditChainOf, uniqueTenant } from './enrollment-test-kit';

const API_KEY = /mk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}/;

describe('enrollment: break-glass recovery of a tenant whose admin keys are all revoked', () => {
  let h: EnrollmentHarness;
  let audit: TopicTap;
  let tenantId: string;
  let lockedOutKey: string;

  beforeAll(async () => {
    h = await EnrollmentHarness.start();
    // Opened before the tenant exists: the whole chain, from its first record, is seen.
    audit = await TopicTap.open(h.kafka, AUDIT_EVENTS);
    ({ tenantId, adminKey: lockedOutKey } = await h.tenant('locked'));
  });
  afterAll(async () => {
    await audit?.close();
    await h?.stop();
  });

  function cli(
    user = 'alice',
  ): CliIo & { out: (l: string) => void; lines: { out: string[]; err: string[] } } {
    const lines = { out: [] as string[], err: [] as string[] };
    return {
      env: { DATABASE_URL: stackEndpoints().databaseUrl },
      out: (line: string) => lines.out.push(line),
      err: (line: string) => lines.err.push(line),
      schema: h.schema,
      user,
      lines,
    };
  }

  it('mints one admin key that works against the REST API, audited as break-glass:<user> with the reason', async () => {
    // Lock the tenant out: its only admin key revokes itself.
    const lockedOutId = lockedOutKey.slice(3, 15);
    expect((await h.request('DELETE', `/v1/api-keys/${lockedOutId}`, { key: lockedOutKey })).status).toBe(
      204,
    );
    expect((await h.request('GET', '/v1/api-keys', { key: lockedOutKey })).status).toBe(401);

    const io = cli('alice');
    const reason = 'all admin keys revoked by mistake; asked by J. Doe, ticket OPS-4711';
    expect(await runCli(['tenant', 'recover', tenantId, '--reason', reason], io)).toBe(0);
    expect(io.lines.out).toHaveLength(1);
    const [key] = io.lines.out as [string];
    expect(key).toMatch(new RegExp(`^${API_KEY.source}$`));
    const keyId = key.slice(3, 15);
    const secret = key.slice(16);
    expect(io.lines.err.join('\n')).toContain(`key id ${keyId}`);
    expect(io.lines.err.join('\n')).not.toContain(secret);

    // An admin key: it lists the tenant's keys and makes new ones.
    const list = await h.request<{ items: { keyId: string; role: string; createdBy: string }[] }>(
      'GET',
      '/v1/api-keys',
      { key },
    );
    expect(list.status).toBe(200);
    expect(list.body.items.find((k) => k.keyId === keyId)).toMatchObject({
      role: 'admin',
      createdBy: 'break-glass:alice',
    });
    expect(list.body.items.filter((k) => k.role === 'admin')).toHaveLength(2);
    const made = await h.request<{ apiKey: string }>('POST', '/v1/api-keys', {
      key,
      json: { role: 'operator' },
    });
    expect(made.status).toBe(201);
    expect((await h.request('GET', '/v1/devices', { key: made.body.apiKey })).status).toBe(200);

    // On the tenant's chain, unbroken from its first record: the recovery, then the key as any key creation.
    await audit.waitFor(
      (r) => r.json.tenantId === tenantId && r.json.action === 'tenant.recovered',
      1,
      'the recovery record',
    );
    const created = await audit.waitFor(
      (r) => r.json.tenantId === tenantId && r.json.action === 'apikey.created',
      3,
      'first key, recovered key and operator key records',
    );
    const chain = auditChainOf(audit, tenantId);
    expect(firstBrokenLink(chain, EMPTY_CHAIN)).toBe(-1);
    expect(chain.map((e) => e.action)).toEqual([
      'tenant.created',
      'apikey.created',
      'apikey.revoked',
      'tenant.recovered',
      'apikey.created',
      'apikey.created',
    ]);
    expect(chain[3]).toMatchObject({
      actor: 'break-glass:alice',
      subject: tenantId,
      outcome: 'allowed',
      detail: { reason, keyId: `key_${keyId}` },
    });
    expect(chain[4]).toMatchObject({
      actor: 'break-glass:alice',
      subject: `key_${keyId}`,
      detail: { role: 'admin' },
    });
    expect(created[2]!.json.actor).toBe(`key_${keyId}`);

    // The secret is nowhere but on stdout: not in any audit record, not in the service's log.
    const published = audit.records.map((r) => r.value).join('\n');
    expect(published).not.toContain(secret);
    expect(published).not.toMatch(API_KEY);
    const log = h.logs.join('\n');
    expect(log).not.toContain(secret);
    expect(log).not.toMatch(API_KEY);
  });

  it('refuses an unknown tenant with TENANT_NOT_FOUND and exit 1: no key printed, nothing stored', async () => {
    const unknown = uniqueTenant('nobody');
    const io = cli();
    expect(await runCli(['tenant', 'recover', unknown, '--reason', 'typo check'], io)).toBe(1);
    expect(io.lines.out).toEqual([]);
    expect(io.lines.err.at(-1)).toMatch(/TENANT_NOT_FOUND: No tenant nobody-/);
    const keys = await h.db
      .selectFrom('api_keys')
      .select('key_id')
      .where('tenant_id', '=', unknown)
      .execute();
    expect(keys).toEqual([]);
    const heads = await h.db
      .selectFrom('audit_chain_heads')
      .select('tenant_id')
      .where('tenant_id', '=', unknown)
      .execute();
    expect(heads).toEqual([]);
  });

  it('refuses a malformed tenant id and an overlong reason with exit 1, printing no key', async () => {
    const io = cli();
    expect(await runCli(['tenant', 'recover', 'Bad_Id', '--reason', 'why'], io)).toBe(1);
    expect(io.lines.err.at(-1)).toMatch(/INVALID_TENANT_ID/);
    expect(await runCli(['tenant', 'recover', tenantId, '--reason', 'x'.repeat(501)], io)).toBe(1);
    expect(io.lines.err.at(-1)).toMatch(/INVALID_RECOVERY_REASON/);
    expect(await runCli(['tenant', 'recover', tenantId], io)).toBe(2);
    expect(io.lines.out).toEqual([]);
  });
});
