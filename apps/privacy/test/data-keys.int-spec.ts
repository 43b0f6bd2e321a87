import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_EVENTS, PLATFORM_AUDIT_CHAIN, PRIVACY_OCCUPANCIES } from '@meterkeep/contracts';
import { type Telemetry, parsePrometheusText, samplesOf, startTelemetry } from '@meterkeep/observability';
import { mintPlatformCa, mintServiceIdentity } from '@meterkeep/testing';
import { EnrollmentProcess, PrivacyHarness, TopicTap, testKafka } from './privacy-test-kit';

/** The decrypting consumers of this file, as their platform certificates name them. */
const ANALYTICS = 'analytics';
const BILLING = 'billing';

interface MeterKeys {
  tenantId: string;
  meterId: string;
  occupancies: {
    occupancyId: string;
    keyId: string;
    from: string;
    to: string | null;
    key?: string;
    destroyed: boolean;
  }[];
  meterKey: { keyId: string; key: string };
}

describe('privacy: the data-key vault', () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let tenantId: string;
  let other: { tenantId: string; adminKey: string };
  let admin: string;
  let operator: string;
  let occupancyTap: TopicTap;
  let auditTap: TopicTap;
  /** Every plain key the service handed out in this file, base64. */
  const keysSeen = new Set<string>();
  /** A key destroyed twice: checked at the end for a single key-destroyed event. */
  let destroyedOnce: string;
  const run = randomBytes(4).toString('hex');
  const meter = (n: number) => `MTR-DK-${run}-${n}`;
  const subjectRef = `hh-${run}`;

  const meterKeys = async (tenant: string, meterId: string) => {
    const response = await h.internal<MeterKeys>(
      `/internal/v1/tenants/${tenant}/meters/${meterId}/data-keys`,
    );
    expect(response.status).toBe(200);
    keysSeen.add(response.body.meterKey.key);
    for (const occupancy of response.body.occupancies) if (occupancy.key) keysSeen.add(occupancy.key);
    return response.body;
  };
  const open = async (meterId: string, from: string, key = operator) => {
    const opened = await h.request<{ occupancyId: string; keyId: string }>('POST', '/v1/occupancies', {
      key,
      json: { meterId, subjectRef, from },
    });
    expect(opened.status).toBe(201);
    return opened.body;
  };
  const destroy = (keyId: string, key = admin) =>
    h.request('POST', `/v1/data-keys/${keyId}/destroy`, { key });

  let telemetry: Telemetry;
  const erasures = async () => {
    const text = await (await fetch((await telemetry.metricsEndpoint)!)).text();
    return samplesOf(parsePrometheusText(text), 'meterkeep_privacy_erasures_total', {
      meterkeep_erasure_kind: 'data-key',
    }).reduce((sum, sample) => sum + sample.value, 0);
  };

  beforeAll(async () => {
    telemetry = startTelemetry({
      serviceName: 'privacy-it',
      traces: 'none',
      metrics: 'none',
      prometheus: { port: 0, host: '127.0.0.1' },
    });
    enrollment = await EnrollmentProcess.start('privacy');
    ({ tenantId, adminKey: admin } = await enrollment.tenant('pvkeys'));
    other = await enrollment.tenant('pvkeysother');
    operator = await enrollment.key(tenantId, 'operator');
    // Analytics may read both tenants' keys one by one; billing only the other tenant's.
    h = await PrivacyHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      dataKeyGrants: { [ANALYTICS]: [tenantId, other.tenantId], [BILLING]: [other.tenantId] },
    });
    const kafka = testKafka();
    [occupancyTap, auditTap] = await Promise.all([
      TopicTap.open(kafka, PRIVACY_OCCUPANCIES),
      TopicTap.open(kafka, AUDIT_EVENTS),
    ]);
  });
  afterAll(async () => {
    await Promise.all([occupancyTap, auditTap].map((tap) => tap?.close()));
    await h?.stop();
    await enrollment?.stop();
    await telemetry?.shutdown();
  });

  it('serves the internal routes on the internal listener only, to a platform certificate', async () => {
    const paths = [
      `/internal/v1/tenants/${tenantId}/meters/${meter(1)}/data-keys`,
      `/internal/v1/tenants/${tenantId}/data-keys/dk-${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`,
    ];
    const foreign = mintServiceIdentity(mintPlatformCa('Not the platform CA'), ANALYTICS);
    for (const path of paths) {
      // No client certificate, or one naming a granted consumer from another CA: no handshake.
      await expect(h.internal(path, null)).rejects.toThrow(/certificate required|socket hang up|ECONNRESET/);
      await expect(h.internal(path, foreign)).rejects.toThrow(/unknown ca|socket hang up|ECONNRESET/);
      // The plain listener does not know the path, API key or not.
      const plain = await h.request('GET', path, { key: admin });
      expect(plain.status).toBe(404);
      expect(plain.text).not.toContain('"key"');
    }
  });

  it("gives a meter's keys to the ingest only: any other service gets 403 CALLER_NOT_ALLOWED", async () => {
    for (const caller of [ANALYTICS, 'bootstrap', 'enrollment']) {
      const refused = await h.internal(
        `/internal/v1/tenants/${tenantId}/meters/${meter(1)}/data-keys`,
        caller,
      );
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ code: 'CALLER_NOT_ALLOWED', details: { caller } });
      expect(refused.text).not.toContain('"key"');
    }
  });

  it("makes a meter's own key on the first request and keeps it", async () => {
    const first = await meterKeys(tenantId, meter(1));
    expect(first).toEqual({
      tenantId,
      meterId: meter(1),
      occupancies: [],
      meterKey: { keyId: expect.stringMatching(/^dk-/), key: expect.any(String) },
    });
    expect(Buffer.from(first.meterKey.key, 'base64')).toHaveLength(32);
    const [again, concurrent] = await Promise.all([
      meterKeys(tenantId, meter(1)),
      meterKeys(tenantId, meter(1)),
    ]);
    expect(again.meterKey).toEqual(first.meterKey);
    expect(concurrent.meterKey).toEqual(first.meterKey);
    // Another meter, another key.
    expect((await meterKeys(tenantId, meter(2))).meterKey.key).not.toBe(first.meterKey.key);
  });

  it("lists each occupancy's period with its own key, in time order", async () => {
    const first = await open(meter(3), '2026-01-01T00:00:00.000Z');
    await h.request('POST', `/v1/occupancies/${first.occupancyId}/close`, {
      key: operator,
      json: { to: '2026-02-01T00:00:00.000Z' },
    });
    const second = await open(meter(3), '2026-02-01T00:00:00.000Z');
    const keys = await meterKeys(tenantId, meter(3));
    expect(keys.occupancies).toEqual([
      {
        occupancyId: first.occupancyId,
        keyId: first.keyId,
        from: '2026-01-01T00:00:00.000Z',
        to: '2026-02-01T00:00:00.000Z',
        key: expect.any(String),
        destroyed: false,
      },
      {
        occupancyId: second.occupancyId,
        keyId: second.keyId,
        from: '2026-02-01T00:00:00.000Z',
        to: null,
        key: expect.any(String),
        destroyed: false,
      },
    ]);
    const distinct = new Set([keys.meterKey.key, ...keys.occupancies.map((o) => o.key)]);
    expect(distinct.size).toBe(3);
    const one = await h.internal<Record<string, unknown>>(
      `/internal/v1/tenants/${tenantId}/data-keys/${first.keyId}`,
      ANALYTICS,
    );
    expect(one.status).toBe(200);
    expect(one.headers['cache-control']).toBe('no-store');
    expect(one.body).toEqual({
      keyId: first.keyId,
      meterId: meter(3),
      occupancyId: first.occupancyId,
      key: keys.occupancies[0]!.key,
    });
  });

  it('stores only wrapped keys: no row holds the plain key bytes', async () => {
    const keys = await meterKeys(tenantId, meter(3));
    const rows = await h.db.selectFrom('data_keys').selectAll().where('tenant_id', '=', tenantId).execute();
    expect(rows.length).toBeGreaterThanOrEqual(4);
    const stored = rows.map((row) =>
      JSON.stringify(row, (_, value: unknown) =>
        value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer'
          ? Buffer.from((value as { data: number[] }).data).toString('hex')
          : value,
      ),
    );
    for (const row of rows) expect(row.wrapped_key).toHaveLength(61);
    for (const key of [keys.meterKey.key, ...keys.occupancies.map((o) => o.key!)]) {
      const plain = Buffer.from(key, 'base64');
      for (const row of rows) expect(row.wrapped_key!.includes(plain)).toBe(false);
      for (const text of stored) {
        expect(text).not.toContain(plain.toString('hex'));
        expect(text).not.toContain(key);
      }
    }
    // Nor does any other table (the occupancy rows, the outbox).
    const everything = JSON.stringify([
      await h.db.selectFrom('occupancies').selectAll().execute(),
      await h.db.selectFrom('outbox').selectAll().execute(),
    ]);
    for (const key of keys.occupancies.map((o) => o.key!)) expect(everything).not.toContain(key);
  });

  it('destroys a key (admin only): the row is wiped, fetching it answers 410, and ingest is told', async () => {
    const occupancy = await open(meter(4), '2026-01-01T00:00:00.000Z');
    expect((await destroy(occupancy.keyId, operator)).status).toBe(403);
    const erasedBefore = await erasures();

    const destroyed = await destroy(occupancy.keyId);
    expect(destroyed.status).toBe(200);
    expect(destroyed.body).toEqual({ keyId: occupancy.keyId, destroyedAt: expect.any(String) });
    // Idempotent: the same answer, no second event.
    const again = await destroy(occupancy.keyId);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(destroyed.body);
    // One erasure counted: the refused and the repeated request are not erasures.
    expect((await erasures()) - erasedBefore).toBe(1);

    const row = await h.db
      .selectFrom('data_keys')
      .selectAll()
      .where('key_id', '=', occupancy.keyId)
      .executeTakeFirstOrThrow();
    expect(row.wrapped_key).toBeNull();
    expect(row.destroyed_at?.toISOString()).toBe(destroyed.body.destroyedAt);

    const fetched = await h.internal(
      `/internal/v1/tenants/${tenantId}/data-keys/${occupancy.keyId}`,
      ANALYTICS,
    );
    expect(fetched.status).toBe(410);
    expect(fetched.body).toMatchObject({ code: 'KEY_DESTROYED', message: expect.any(String) });

    const keys = await meterKeys(tenantId, meter(4));
    expect(keys.occupancies).toEqual([
      {
        occupancyId: occupancy.occupancyId,
        keyId: occupancy.keyId,
        from: '2026-01-01T00:00:00.000Z',
        to: null,
        destroyed: true,
      },
    ]);

    const [event] = await occupancyTap.waitFor(
      (r) => r.json.keyId === occupancy.keyId && r.json.type === 'key-destroyed',
      1,
      'key-destroyed event',
    );
    expect(event!.key).toBe(`${tenantId}/${meter(4)}`);
    expect(event!.json).toEqual({
      eventId: expect.any(String),
      tenantId,
      occurredAt: destroyed.body.destroyedAt,
      type: 'key-destroyed',
      meterId: meter(4),
      occupancyId: occupancy.occupancyId,
      keyId: occupancy.keyId,
    });
    const [record] = await auditTap.waitFor((r) => r.json.subject === occupancy.keyId, 1, 'audit record');
    expect(record!.json).toMatchObject({
      action: 'privacy.data-key-destroyed',
      actor: `key_${admin.slice(3, 15)}`,
    });
    destroyedOnce = occupancy.keyId;
  });

  it('replaces a destroyed meter key with a new one on the next request', async () => {
    const before = await meterKeys(tenantId, meter(5));
    expect((await destroy(before.meterKey.keyId)).status).toBe(200);
    const [event] = await occupancyTap.waitFor((r) => r.json.keyId === before.meterKey.keyId, 1, 'event');
    expect(event!.json).not.toHaveProperty('occupancyId');
    expect(
      (await h.internal(`/internal/v1/tenants/${tenantId}/data-keys/${before.meterKey.keyId}`, ANALYTICS))
        .status,
    ).toBe(410);
    const after = await meterKeys(tenantId, meter(5));
    expect(after.meterKey.keyId).not.toBe(before.meterKey.keyId);
    expect(after.meterKey.key).not.toBe(before.meterKey.key);
  });

  it("cannot destroy or fetch another tenant's key: 404", async () => {
    const occupancy = await open(meter(6), '2026-01-01T00:00:00.000Z');
    const refused = await destroy(occupancy.keyId, other.adminKey);
    expect(refused.status).toBe(404);
    expect(refused.body).toMatchObject({ code: 'DATA_KEY_NOT_FOUND' });
    expect(
      (await h.internal(`/internal/v1/tenants/${other.tenantId}/data-keys/${occupancy.keyId}`, ANALYTICS))
        .status,
    ).toBe(404);
    // The other tenant's view of the same meter id is its own, empty one.
    const theirs = await meterKeys(other.tenantId, meter(6));
    expect(theirs.occupancies).toEqual([]);
    expect(
      (await h.internal(`/internal/v1/tenants/${tenantId}/data-keys/${occupancy.keyId}`, ANALYTICS)).status,
    ).toBe(200);
  });

  it('gives one key only to a consumer granted its tenant: 403 DATA_KEY_NOT_GRANTED, and audits every answer', async () => {
    const occupancy = await open(meter(7), '2026-01-01T00:00:00.000Z');
    const path = `/internal/v1/tenants/${tenantId}/data-keys/${occupancy.keyId}`;
    // Billing holds a grant for the other tenant only; the ingest holds none.
    for (const caller of [BILLING, 'telemetry-ingest']) {
      const refused = await h.internal(path, caller);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ code: 'DATA_KEY_NOT_GRANTED' });
      expect(refused.text).not.toContain('"key"');
    }
    const refusals = await auditTap.waitFor(
      (r) => r.json.subject === occupancy.keyId && r.json.outcome === 'refused',
      2,
      'the refusals audited',
    );
    expect(refusals.map((r) => r.json)).toEqual(
      [BILLING, 'telemetry-ingest'].map((caller): unknown =>
        expect.objectContaining({
          tenantId: PLATFORM_AUDIT_CHAIN,
          action: 'privacy.data-key-read',
          actor: `service:${caller}`,
          outcome: 'refused',
          detail: { reason: 'DATA_KEY_NOT_GRANTED', tenantId },
        }),
      ),
    );
    // The granted consumer gets it, audited on the tenant's own chain.
    expect((await h.internal(path, ANALYTICS)).status).toBe(200);
    const [read] = await auditTap.waitFor(
      (r) => r.json.subject === occupancy.keyId && r.json.outcome === 'allowed',
      1,
      'the read audited',
    );
    expect(read!.json).toMatchObject({
      tenantId,
      action: 'privacy.data-key-read',
      actor: `service:${ANALYTICS}`,
      detail: { found: true },
    });
  });

  it('makes no audit chain for a tenant a refused caller made up: the refusal goes on the platform chain', async () => {
    const madeUp = `made-up-${run}`;
    const keyId = `dk-${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`;
    const refused = await h.internal(`/internal/v1/tenants/${madeUp}/data-keys/${keyId}`, 'telemetry-ingest');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'DATA_KEY_NOT_GRANTED' });
    const [record] = await auditTap.waitFor(
      (r) => (r.json.detail as { tenantId?: string } | undefined)?.tenantId === madeUp,
      1,
      'the refusal audited',
    );
    expect(record!.json).toMatchObject({ tenantId: PLATFORM_AUDIT_CHAIN, outcome: 'refused' });
    const heads = await h.db
      .selectFrom('audit_chain_heads')
      .select('tenant_id')
      .where('tenant_id', 'in', [madeUp, PLATFORM_AUDIT_CHAIN])
      .execute();
    expect(heads.map((head) => head.tenant_id)).toEqual([PLATFORM_AUDIT_CHAIN]);
  });

  it('puts no key and no subject reference on any topic record, and none in the log', async () => {
    await occupancyTap.waitFor((r) => String(r.json.meterId).startsWith(`MTR-DK-${run}-6`), 1, 'last event');
    expect(keysSeen.size).toBeGreaterThanOrEqual(6);
    const records = [...occupancyTap.records, ...auditTap.records];
    expect(records.length).toBeGreaterThan(0);
    const log = h.logs.join('\n');
    for (const key of keysSeen) {
      const hex = Buffer.from(key, 'base64').toString('hex');
      for (const record of records) {
        expect(record.value).not.toContain(key);
        expect(record.value).not.toContain(hex);
      }
      expect(log).not.toContain(key);
      expect(log).not.toContain(hex);
    }
    for (const record of records) expect(record.value).not.toContain(subjectRef);
    // Destroying twice announced it once.
    const announcements = occupancyTap.records.filter(
      (r) => r.json.keyId === destroyedOnce && r.json.type === 'key-destroyed',
    );
    expect(announcements).toHaveLength(1);
    expect(log).not.toContain(subjectRef);
  });
});
