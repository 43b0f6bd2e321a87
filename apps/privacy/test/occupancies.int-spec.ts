import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_EVENTS, PRIVACY_OCCUPANCIES } from '@meterkeep/contracts';
import { freePort, waitUntil } from '@meterkeep/testing';
import { EnrollmentProcess, PrivacyHarness, TopicTap, testKafka } from './privacy-test-kit';

interface Occupancy {
  occupancyId: string;
  meterId: string;
  subjectRef: string;
  from: string;
  to: string | null;
  keyId: string;
}

interface Page {
  items: Occupancy[];
  nextCursor: string | null;
}

describe('privacy: occupancies, behind API keys resolved by a real enrollment', () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let auditor: string;
  let occupancyTap: TopicTap;
  let auditTap: TopicTap;
  const run = randomBytes(4).toString('hex');
  const meter = (n: number) => `MTR-PV-${run}-${n}`;
  const subject = (n: number) => `hh-${run}-${n}`;

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('privacy');
    h = await PrivacyHarness.start({ enrollmentUrl: enrollment.internalUrl });
    ({ tenantId, adminKey: admin } = await enrollment.tenant());
    [operator, auditor] = await Promise.all([
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'auditor'),
    ]);
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
  });

  const open = (n: number, from: string, key = operator) =>
    h.request<Occupancy>('POST', '/v1/occupancies', {
      key,
      json: { meterId: meter(n), subjectRef: subject(n), from },
    });
  const close = (occupancyId: string, to: string, key = operator) =>
    h.request<Occupancy>('POST', `/v1/occupancies/${occupancyId}/close`, { key, json: { to } });

  it('refuses a call without a key, with a malformed and with an unknown one: 401', async () => {
    const unknown = `mk_abcdefghijkl_${'A'.repeat(43)}`;
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer nonsense' },
      { authorization: `Bearer ${unknown}` },
    ];
    for (const headers of attempts) {
      const response = await h.request('GET', '/v1/occupancies', { headers });
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.any(String) });
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect((await h.request('GET', '/v1/occupancies', { key: auditor })).status).toBe(200);
  });

  it('answers 401 on every operator route of the OpenAPI document when there is no key', async () => {
    const document = await h.request<{ paths: Record<string, Record<string, unknown>> }>('GET', '/docs-json');
    expect(document.status).toBe(200);
    const operations = Object.entries(document.body.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => [method.toUpperCase(), path] as const),
      );
    // 20, then network cells (PUT, GET) and the consent policy (PUT, GET).
    expect(operations.length).toBe(24);
    for (const [method, template] of operations) {
      const path = template
        .replace('{occupancyId}', `occ-${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`)
        .replace('{keyId}', `dk-${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`)
        .replace('{subjectRef}', 'subj-0')
        .replace('{purpose}', 'billing')
        .replace('{cellId}', 'feeder-0')
        .replace('{erasureId}', `er-${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`)
        .replace('{exportId}', `ex-${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`);
      const response = await h.request(method, path);
      expect({ method, path, status: response.status }).toEqual({ method, path, status: 401 });
    }
    expect(document.body.paths['/v1/data-keys/{keyId}/destroy']!.post).toMatchObject({
      'x-roles': ['admin'],
    });
  });

  it('opens an occupancy with a data key of its own, and publishes ids and times only', async () => {
    const from = '2026-01-01T00:00:00.000Z';
    const opened = await open(1, from);
    expect(opened.status).toBe(201);
    expect(opened.body).toEqual({
      occupancyId: expect.stringMatching(/^occ-/),
      meterId: meter(1),
      subjectRef: subject(1),
      from,
      to: null,
      keyId: expect.stringMatching(/^dk-/),
      consumerClass: 'domestic',
      contractDate: null,
    });
    const { occupancyId, keyId } = opened.body;
    const [event] = await occupancyTap.waitFor((r) => r.json.occupancyId === occupancyId, 1, 'opened event');
    expect(event!.key).toBe(`${tenantId}/${meter(1)}`);
    expect(event!.json).toMatchObject({ type: 'opened', tenantId, meterId: meter(1), keyId, from });
    const [record] = await auditTap.waitFor((r) => r.json.subject === occupancyId, 1, 'audit record');
    expect(record!.json).toMatchObject({
      tenantId,
      action: 'privacy.occupancy-opened',
      actor: `key_${operator.slice(3, 15)}`,
      outcome: 'allowed',
    });
    // The relay deletes rows in the transaction that saw Kafka's ack, so a consumer may be first.
    await waitUntil(async () => (await h.outboxSize()) === 0, { description: 'an empty outbox' });
  });

  it('lets the auditor read but not write: 403', async () => {
    const refused = await open(2, '2026-01-01T00:00:00.000Z', auditor);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'FORBIDDEN', message: expect.any(String) });
    const opened = await open(2, '2026-01-01T00:00:00.000Z', admin);
    expect(opened.status).toBe(201);
    expect((await close(opened.body.occupancyId, '2026-02-01T00:00:00.000Z', auditor)).status).toBe(403);
    const read = await h.request<Occupancy>('GET', `/v1/occupancies/${opened.body.occupancyId}`, {
      key: auditor,
    });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(opened.body);
  });

  it('refuses an occupancy that overlaps another of the meter: 409 OCCUPANCY_OVERLAP', async () => {
    const first = await open(3, '2026-01-01T00:00:00.000Z');
    expect(first.status).toBe(201);
    // The first is open-ended: any later start overlaps it, and so does an earlier one.
    for (const from of ['2026-06-01T00:00:00.000Z', '2025-12-01T00:00:00.000Z']) {
      const clash = await open(3, from);
      expect(clash.status).toBe(409);
      expect(clash.body).toMatchObject({
        code: 'OCCUPANCY_OVERLAP',
        details: { occupancyId: first.body.occupancyId },
      });
    }
    // Closed at March, the next household may move in at March (periods are [from, to)), not before.
    expect((await close(first.body.occupancyId, '2026-03-01T00:00:00.000Z')).status).toBe(200);
    expect((await open(3, '2026-02-28T00:00:00.000Z')).status).toBe(409);
    expect((await open(3, '2026-03-01T00:00:00.000Z')).status).toBe(201);
    // Another meter is another matter.
    expect((await open(4, '2026-01-01T00:00:00.000Z')).status).toBe(201);
  });

  it('lets only one of two concurrent opens of a meter through', async () => {
    const results = await Promise.all(
      ['2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z'].map((from) =>
        open(5, from),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
  });

  it('closes an occupancy once: to after from, the same close again is a no-op', async () => {
    const opened = await open(6, '2026-01-01T00:00:00.000Z');
    const id = opened.body.occupancyId;
    const early = await close(id, '2026-01-01T00:00:00.000Z');
    expect(early.status).toBe(400);
    expect(early.body).toMatchObject({ code: 'INVALID_PERIOD' });
    const closed = await close(id, '2026-04-01T00:00:00.000Z');
    expect(closed.status).toBe(200);
    expect(closed.body).toEqual({ ...opened.body, to: '2026-04-01T00:00:00.000Z' });
    expect((await close(id, '2026-04-01T00:00:00.000Z')).status).toBe(200);
    const again = await close(id, '2026-05-01T00:00:00.000Z');
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'OCCUPANCY_CLOSED' });
    const events = await occupancyTap.waitFor((r) => r.json.occupancyId === id && r.json.type === 'closed');
    expect(events).toHaveLength(1);
    expect(events[0]!.json).toMatchObject({
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-04-01T00:00:00.000Z',
    });
  });

  it("answers another tenant's occupancy exactly as one that does not exist: 404", async () => {
    const opened = await open(7, '2026-01-01T00:00:00.000Z');
    const other = await enrollment.tenant('pvother');
    const id = opened.body.occupancyId;
    const get = await h.request('GET', `/v1/occupancies/${id}`, { key: other.adminKey });
    const missing = await h.request(
      'GET',
      `/v1/occupancies/occ-${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`,
      {
        key: other.adminKey,
      },
    );
    expect(get.status).toBe(404);
    expect(get.body).toEqual(missing.body);
    expect(get.text).not.toContain(meter(7));
    expect((await close(id, '2026-02-01T00:00:00.000Z', other.adminKey)).status).toBe(404);
    const list = await h.request<Page>('GET', `/v1/occupancies?meterId=${meter(7)}`, { key: other.adminKey });
    expect(list.body).toEqual({ items: [], nextCursor: null });
    // The other tenant may have the same meter id without clashing: ids are per tenant.
    const theirs = await h.request('POST', '/v1/occupancies', {
      key: other.adminKey,
      json: { meterId: meter(7), subjectRef: 'theirs', from: '2026-01-01T00:00:00.000Z' },
    });
    expect(theirs.status).toBe(201);
  });

  it("lists a meter's occupancies in start order, a page at a time", async () => {
    const starts = ['2026-01-01', '2026-02-01', '2026-03-01', '2026-04-01', '2026-05-01'];
    for (const [i, day] of starts.entries()) {
      const opened = await open(8, `${day}T00:00:00.000Z`);
      expect(opened.status).toBe(201);
      if (i < starts.length - 1)
        expect((await close(opened.body.occupancyId, `${starts[i + 1]}T00:00:00.000Z`)).status).toBe(200);
    }
    const seen: Occupancy[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/occupancies?meterId=${meter(8)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await h.request<Page>('GET', query, { key: auditor });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.map((o) => o.from.slice(0, 10))).toEqual(starts);
    expect(seen.at(-1)!.to).toBeNull();
    const all = await h.request<Page>('GET', '/v1/occupancies?limit=1000', { key: auditor });
    expect(all.body.items.every((o) => o.meterId.startsWith(`MTR-PV-${run}-`))).toBe(true);
  });

  it('answers bad input with 400 and a code, never 500', async () => {
    const bad = [
      await h.request('POST', '/v1/occupancies', {
        key: operator,
        json: { meterId: meter(9), subjectRef: 'x' },
      }),
      await h.request('POST', '/v1/occupancies', {
        key: operator,
        json: { meterId: 'bad meter', subjectRef: 'x', from: '2026-01-01T00:00:00Z' },
      }),
      await h.request('POST', '/v1/occupancies', {
        key: operator,
        json: { meterId: meter(9), subjectRef: 'x', from: 'yesterday' },
      }),
      await h.request('POST', '/v1/occupancies', {
        key: operator,
        json: { meterId: meter(9), subjectRef: 'x', from: '2026-01-01T00:00:00Z', extra: 1 },
      }),
      await h.request('GET', '/v1/occupancies?limit=5000', { key: operator }),
      await h.request('GET', '/v1/occupancies?cursor=garbage', { key: operator }),
      await h.request('GET', '/v1/occupancies/not-an-id', { key: operator }),
    ];
    for (const response of bad) {
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ code: expect.stringMatching(/^[A-Z_]+$/) });
    }
  });

  it('answers 503 with Retry-After, not 401, while enrollment cannot be asked', async () => {
    const cut = await PrivacyHarness.start({ enrollmentUrl: `https://127.0.0.1:${await freePort()}` });
    try {
      const response = await cut.request('GET', '/v1/occupancies', { key: operator });
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ code: 'AUTH_UNAVAILABLE' });
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      // No key at all is still the caller's problem.
      expect((await cut.request('GET', '/v1/occupancies')).status).toBe(401);
    } finally {
      await cut.stop();
    }
  });

  it('never puts a subject reference on a topic or in the log', async () => {
    await occupancyTap.waitFor(
      (r) => String(r.json.meterId).startsWith(`MTR-PV-${run}-8`),
      9,
      'meter 8 events',
    );
    for (const record of [...occupancyTap.records, ...auditTap.records]) {
      expect(record.value).not.toContain(`hh-${run}`);
      expect(record.value).not.toContain('subjectRef');
    }
    const log = h.logs.join('\n');
    expect(log).not.toContain(`hh-${run}`);
    expect(log).not.toContain(admin.slice(16));
    expect(log).not.toContain(operator.slice(16));
  });
});
