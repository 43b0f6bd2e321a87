import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_EVENTS, PRIVACY_CONSENT_STATE, PRIVACY_CONSENTS } from '@meterkeep/contracts';
import { EnrollmentProcess, PrivacyHarness, TopicTap, testKafka, waitUntil } from './privacy-test-kit';

interface Entry {
  consentId: string;
  occupancyId: string;
  purpose: string;
  recipient: string;
  granularity: string;
  basis: string;
  status: string;
  effectiveFrom: string;
  effectiveTo: string | null;
  historicalFrom: string | null;
  noticeSentAt: string | null;
  evidenceRef: string;
  actor: string;
  policy: string;
  version: number;
  recordedAt: string;
}
interface Permissions {
  occupancyId: string;
  asOf: string;
  policy: string;
  permissions: { purpose: string; recipient: string; granularity: string }[];
}

const DAY = 86_400_000;
const evidence = (script = 'hh-optin') => `web:${script}/v3/sha256:${'9f'.repeat(32)}`;

describe('privacy: the consent ledger over REST, its events on raw Kafka', () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let auditor: string;
  let consentTap: TopicTap;
  let stateTap: TopicTap;
  let auditTap: TopicTap;
  const run = randomBytes(4).toString('hex');
  const meter = (n: number) => `MTR-CN-${run}-${n}`;
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
    [consentTap, stateTap, auditTap] = await Promise.all([
      TopicTap.open(kafka, PRIVACY_CONSENTS),
      TopicTap.open(kafka, PRIVACY_CONSENT_STATE),
      TopicTap.open(kafka, AUDIT_EVENTS),
    ]);
  });
  afterAll(async () => {
    await Promise.all([consentTap, stateTap, auditTap].map((tap) => tap?.close()));
    await h?.stop();
    await enrollment?.stop();
  });

  const open = async (n: number, extra: Record<string, unknown> = {}, from = '2026-01-01T00:00:00.000Z') => {
    const opened = await h.request<{ occupancyId: string }>('POST', '/v1/occupancies', {
      key: operator,
      json: { meterId: meter(n), subjectRef: subject(n), from, ...extra },
    });
    expect(opened.status).toBe(201);
    return opened.body.occupancyId;
  };
  const change = (occupancyId: string, json: Record<string, unknown>, key = operator) =>
    h.request<Entry>('POST', `/v1/occupancies/${occupancyId}/consents`, {
      key,
      json: { evidenceRef: evidence(), recipient: 'supplier', ...json },
    });
  const permissions = async (occupancyId: string, asOf?: Date, key = auditor) => {
    const query = asOf ? `?asOf=${asOf.toISOString()}` : '';
    const response = await h.request<Permissions>(
      'GET',
      `/v1/occupancies/${occupancyId}/permissions${query}`,
      {
        key,
      },
    );
    expect(response.status).toBe(200);
    return response.body;
  };
  const permitted = (view: Permissions, purpose: string, recipient = 'supplier') =>
    view.permissions.find((p) => p.purpose === purpose && p.recipient === recipient)?.granularity;
  const ledger = async (occupancyId: string) => {
    const response = await h.request<{ entries: Entry[] }>('GET', `/v1/occupancies/${occupancyId}/consents`, {
      key: auditor,
    });
    expect(response.status).toBe(200);
    return response.body.entries;
  };

  it('starts a new occupancy from the GB preset: billing monthly, settlement half-hourly, marketing none', async () => {
    const occupancyId = await open(1);
    const view = await permissions(occupancyId);
    expect(view.policy).toBe('gb@1');
    expect(permitted(view, 'billing')).toBe('monthly');
    expect(permitted(view, 'supplier-insights')).toBe('monthly');
    expect(permitted(view, 'marketing')).toBe('none');
    expect(permitted(view, 'settlement')).toBe('half-hourly');
    expect(permitted(view, 'forecasting')).toBe('half-hourly');
    expect(permitted(view, 'network-operator', 'dno')).toBe('none');
    expect(await ledger(occupancyId)).toEqual([]);
    // The release gate's read model hears the same defaults, version 0, from the occupancy's start.
    const states = await stateTap.waitFor((r) => r.json.occupancyId === occupancyId, 6, 'default states');
    expect(
      Object.fromEntries(
        states.map((r) => [r.key, (r.json as { version: number; permissions: unknown }).permissions]),
      ),
    ).toEqual({
      [`${tenantId}/${occupancyId}/billing/supplier`]: [
        { from: '2026-01-01T00:00:00.000Z', granularity: 'monthly' },
      ],
      [`${tenantId}/${occupancyId}/supplier-insights/supplier`]: [
        { from: '2026-01-01T00:00:00.000Z', granularity: 'monthly' },
      ],
      [`${tenantId}/${occupancyId}/marketing/supplier`]: [
        { from: '2026-01-01T00:00:00.000Z', granularity: 'none' },
      ],
      [`${tenantId}/${occupancyId}/settlement/supplier`]: [
        { from: '2026-01-01T00:00:00.000Z', granularity: 'half-hourly' },
      ],
      [`${tenantId}/${occupancyId}/forecasting/supplier`]: [
        { from: '2026-01-01T00:00:00.000Z', granularity: 'half-hourly' },
      ],
      [`${tenantId}/${occupancyId}/network-operator/dno`]: [
        { from: '2026-01-01T00:00:00.000Z', granularity: 'none' },
      ],
    });
    expect(states.every((r) => r.json.version === 0)).toBe(true);
  });

  it('grants a half-hourly opt-in: the entry, its raw Kafka records and its audit record', async () => {
    const occupancyId = await open(2);
    const granted = await change(occupancyId, {
      action: 'grant',
      purpose: 'supplier-insights',
      granularity: 'half-hourly',
      basis: 'consent',
    });
    expect(granted.status).toBe(201);
    expect(granted.body).toMatchObject({
      occupancyId,
      purpose: 'supplier-insights',
      recipient: 'supplier',
      granularity: 'half-hourly',
      basis: 'consent',
      status: 'granted',
      evidenceRef: evidence(),
      actor: `key_${operator.slice(3, 15)}`,
      policy: 'gb@1',
      version: 1,
      effectiveTo: null,
    });
    expect(granted.body.effectiveFrom).toBe(granted.body.recordedAt);
    expect(permitted(await permissions(occupancyId), 'supplier-insights')).toBe('half-hourly');

    const [entry] = await consentTap.waitFor((r) => r.json.occupancyId === occupancyId, 1, 'consent entry');
    expect(entry!.key).toBe(`${tenantId}/${occupancyId}`);
    expect(entry!.json).toEqual({
      eventId: expect.any(String),
      tenantId,
      occurredAt: expect.any(String),
      consentId: granted.body.consentId,
      occupancyId,
      meterId: meter(2),
      purpose: 'supplier-insights',
      recipient: 'supplier',
      granularity: 'half-hourly',
      basis: 'consent',
      status: 'granted',
      effectiveFrom: granted.body.effectiveFrom,
      policy: 'gb@1',
      version: 1,
    });
    const [state] = await stateTap.waitFor(
      (r) => r.json.occupancyId === occupancyId && Number(r.json.version) > 0,
      1,
      'consent state',
    );
    expect(state!.key).toBe(`${tenantId}/${occupancyId}/supplier-insights/supplier`);
    expect(state!.json.permissions).toEqual([
      { from: '2026-01-01T00:00:00.000Z', to: granted.body.effectiveFrom, granularity: 'monthly' },
      { from: granted.body.effectiveFrom, granularity: 'half-hourly' },
    ]);
    const [audit] = await auditTap.waitFor(
      (r) => r.json.subject === occupancyId && r.json.action === 'privacy.consent-granted',
      1,
      'audit record',
    );
    expect(audit!.json).toMatchObject({
      tenantId,
      outcome: 'allowed',
      detail: { consentId: granted.body.consentId, purpose: 'supplier-insights', granularity: 'half-hourly' },
    });
    // Relayed and cleared: the outbox holds nothing once the records are on Kafka.
    await waitUntil(async () => (await h.outboxSize()) === 0);
  });

  it('applies a daily default only seven days after its notice; a withdrawal of half-hourly takes effect at once', async () => {
    const occupancyId = await open(3);
    const noticeSentAt = new Date(Date.now() - 2 * DAY);
    const defaulted = await change(occupancyId, {
      action: 'grant',
      purpose: 'supplier-insights',
      granularity: 'daily',
      basis: 'opt-out-default',
      noticeSentAt: noticeSentAt.toISOString(),
    });
    expect(defaulted.status).toBe(201);
    expect(defaulted.body).toMatchObject({ status: 'defaulted', version: 1 });
    expect(defaulted.body.effectiveFrom).toBe(new Date(noticeSentAt.getTime() + 7 * DAY).toISOString());
    expect(permitted(await permissions(occupancyId), 'supplier-insights')).toBe('monthly');
    expect(
      permitted(await permissions(occupancyId, new Date(Date.now() + 6 * DAY)), 'supplier-insights'),
    ).toBe('daily');

    expect(
      (
        await change(occupancyId, {
          action: 'grant',
          purpose: 'supplier-insights',
          granularity: 'half-hourly',
          basis: 'consent',
        })
      ).status,
    ).toBe(201);
    const beforeWithdrawal = new Date();
    expect(permitted(await permissions(occupancyId), 'supplier-insights')).toBe('half-hourly');
    const withdrawn = await change(occupancyId, { action: 'withdraw', purpose: 'supplier-insights' });
    expect(withdrawn.status).toBe(201);
    expect(withdrawn.body).toMatchObject({ status: 'withdrawn', granularity: 'none', version: 3 });
    expect(withdrawn.body.effectiveFrom).toBe(withdrawn.body.recordedAt);
    // At once: nothing finer than monthly now, and daily once the notice has run.
    expect(permitted(await permissions(occupancyId), 'supplier-insights')).toBe('monthly');
    expect(
      permitted(await permissions(occupancyId, new Date(Date.now() + 6 * DAY)), 'supplier-insights'),
    ).toBe('daily');
    // The ledger as of before the withdrawal still shows what then held.
    expect(permitted(await permissions(occupancyId, beforeWithdrawal), 'supplier-insights')).toBe(
      'half-hourly',
    );
    expect((await ledger(occupancyId)).map((e) => [e.version, e.status])).toEqual([
      [1, 'defaulted'],
      [2, 'granted'],
      [3, 'withdrawn'],
    ]);
    const states = await stateTap.waitFor(
      (r) => r.json.occupancyId === occupancyId && Number(r.json.version) > 0,
      3,
      'three states',
    );
    const last = states.at(-1)!.json as { version: number; permissions: { granularity: string }[] };
    expect(last.version).toBe(3);
    expect(last.permissions.map((s) => s.granularity)).toEqual([
      'monthly',
      'half-hourly',
      'monthly',
      'daily',
    ]);
    await auditTap.waitFor(
      (r) => r.json.subject === occupancyId && r.json.action === 'privacy.consent-withdrawn',
      1,
      'withdrawal audited',
    );
  });

  it('opts a domestic customer out of half-hourly settlement to daily; forecasting follows', async () => {
    const occupancyId = await open(4, { contractDate: '2024-04-01' });
    const optedOut = await change(occupancyId, { action: 'opt-out', purpose: 'settlement' });
    expect(optedOut.status).toBe(201);
    expect(optedOut.body).toMatchObject({
      status: 'opted-out',
      granularity: 'daily',
      basis: 'legal-obligation',
    });
    const view = await permissions(occupancyId);
    expect(permitted(view, 'settlement')).toBe('daily');
    expect(permitted(view, 'forecasting')).toBe('daily');
    const states = await stateTap.waitFor(
      (r) => r.json.occupancyId === occupancyId && Number(r.json.version) > 0,
      2,
      'settlement + forecasting',
    );
    expect(states.map((r) => r.key).sort()).toEqual([
      `${tenantId}/${occupancyId}/forecasting/supplier`,
      `${tenantId}/${occupancyId}/settlement/supplier`,
    ]);
    // A legal-obligation entry cannot lift the customer's opt-out again.
    const lifted = await change(occupancyId, {
      action: 'grant',
      purpose: 'settlement',
      granularity: 'half-hourly',
      basis: 'legal-obligation',
    });
    expect(lifted.status).toBe(409);
    expect(lifted.body).toMatchObject({ code: 'OPTED_OUT' });
  });

  it('gives microbusinesses half-hourly settlement with no opt-out: 422 OPT_OUT_NOT_AVAILABLE', async () => {
    const occupancyId = await open(5, { consumerClass: 'microbusiness' });
    expect(permitted(await permissions(occupancyId), 'settlement')).toBe('half-hourly');
    const refused = await change(occupancyId, { action: 'opt-out', purpose: 'settlement' });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'OPT_OUT_NOT_AVAILABLE' });
  });

  it('grants a third party a historical and a prospective period, and revokes it', async () => {
    const occupancyId = await open(6);
    const effectiveTo = new Date(Date.now() + 30 * DAY).toISOString();
    const granted = await change(occupancyId, {
      action: 'grant',
      purpose: 'third-party',
      recipient: 'third-party:energy-coach',
      granularity: 'half-hourly',
      basis: 'consent',
      historicalFrom: '2026-06-01T00:00:00.000Z',
      effectiveTo,
    });
    expect(granted.status).toBe(201);
    expect(granted.body).toMatchObject({ historicalFrom: '2026-06-01T00:00:00.000Z', effectiveTo });
    expect(permitted(await permissions(occupancyId), 'third-party', 'third-party:energy-coach')).toBe(
      'half-hourly',
    );
    const revoked = await change(occupancyId, {
      action: 'withdraw',
      purpose: 'third-party',
      recipient: 'third-party:energy-coach',
    });
    expect(revoked.status).toBe(201);
    expect(permitted(await permissions(occupancyId), 'third-party', 'third-party:energy-coach')).toBe('none');
    const [state] = (
      await stateTap.waitFor(
        (r) => r.json.occupancyId === occupancyId && Number(r.json.version) > 0,
        2,
        'third-party states',
      )
    ).slice(-1);
    expect(state!.key).toBe(`${tenantId}/${occupancyId}/third-party/third-party:energy-coach`);
  });

  it('never carries consent over to the next occupancy of the meter', async () => {
    const first = await open(7, {}, '2026-01-01T00:00:00.000Z');
    expect(
      (
        await change(first, {
          action: 'grant',
          purpose: 'marketing',
          granularity: 'half-hourly',
          basis: 'consent',
        })
      ).status,
    ).toBe(201);
    const moveOut = new Date(Date.now() + DAY);
    const closed = await h.request('POST', `/v1/occupancies/${first}/close`, {
      key: operator,
      json: { to: moveOut.toISOString() },
    });
    expect(closed.status).toBe(200);
    const next = await open(7, {}, moveOut.toISOString());
    const view = await permissions(next, new Date(moveOut.getTime() + DAY));
    expect(permitted(view, 'marketing')).toBe('none');
    expect(permitted(view, 'supplier-insights')).toBe('monthly');
    expect(permitted(await permissions(first), 'marketing')).toBe('half-hourly');
    expect(await ledger(next)).toEqual([]);
    const [nextMarketing] = await stateTap.waitFor(
      (r) => r.json.occupancyId === next && r.json.purpose === 'marketing',
      1,
      "the next occupancy's marketing state",
    );
    expect(nextMarketing!.json).toMatchObject({
      version: 0,
      permissions: [{ from: moveOut.toISOString(), granularity: 'none' }],
    });
  });

  describe('refusals: a stable code, nothing recorded, nothing published', () => {
    let occupancyId: string;
    beforeAll(async () => {
      occupancyId = await open(8);
    });

    it.each([
      [
        'a granularity the basis does not permit',
        422,
        'GRANULARITY_NOT_PERMITTED',
        {
          action: 'grant',
          purpose: 'supplier-insights',
          granularity: 'half-hourly',
          basis: 'opt-out-default',
          noticeSentAt: '2026-02-01T00:00:00.000Z',
        },
      ],
      [
        'a basis the purpose does not admit (marketing by default)',
        422,
        'BASIS_NOT_ALLOWED',
        {
          action: 'grant',
          purpose: 'marketing',
          granularity: 'daily',
          basis: 'opt-out-default',
          noticeSentAt: '2026-02-01T00:00:00.000Z',
        },
      ],
      [
        'a purpose the policy does not know',
        422,
        'PURPOSE_UNKNOWN',
        {
          action: 'grant',
          purpose: 'astrology',
          granularity: 'daily',
          basis: 'consent',
        },
      ],
      [
        'a recipient the purpose does not admit',
        422,
        'RECIPIENT_NOT_ALLOWED',
        {
          action: 'grant',
          purpose: 'marketing',
          recipient: 'dno',
          granularity: 'daily',
          basis: 'consent',
        },
      ],
      [
        'an opt-out default without notice',
        422,
        'NOTICE_REQUIRED',
        {
          action: 'grant',
          purpose: 'supplier-insights',
          granularity: 'daily',
          basis: 'opt-out-default',
        },
      ],
      ['an opt-out of billing', 422, 'OPT_OUT_NOT_AVAILABLE', { action: 'opt-out', purpose: 'billing' }],
      [
        'a third-party grant without its prospective period',
        422,
        'PERIOD_REQUIRED',
        {
          action: 'grant',
          purpose: 'third-party',
          recipient: 'third-party:coach',
          granularity: 'daily',
          basis: 'consent',
        },
      ],
      [
        'a grant taking effect in the past',
        400,
        'INVALID_PERIOD',
        {
          action: 'grant',
          purpose: 'marketing',
          granularity: 'daily',
          basis: 'consent',
          effectiveFrom: '2026-02-01T00:00:00.000Z',
        },
      ],
      [
        'a third-party history reaching before the occupancy',
        400,
        'INVALID_PERIOD',
        {
          action: 'grant',
          purpose: 'third-party',
          recipient: 'third-party:coach',
          granularity: 'daily',
          basis: 'consent',
          historicalFrom: '2025-06-01T00:00:00.000Z',
          effectiveTo: '2027-06-01T00:00:00.000Z',
        },
      ],
      [
        'evidence that names the household',
        400,
        'EVIDENCE_REF_INVALID',
        {
          action: 'grant',
          purpose: 'marketing',
          granularity: 'daily',
          basis: 'consent',
          evidenceRef: evidence(subject(8)),
        },
      ],
      [
        'evidence holding an e-mail address',
        400,
        'INVALID_REQUEST',
        {
          action: 'grant',
          purpose: 'marketing',
          granularity: 'daily',
          basis: 'consent',
          evidenceRef: 'jane@example.com',
        },
      ],
      [
        'evidence holding a name',
        400,
        'INVALID_REQUEST',
        {
          action: 'withdraw',
          purpose: 'marketing',
          evidenceRef: `phone:Jane Doe/v1/sha256:${'00'.repeat(32)}`,
        },
      ],
      [
        'no evidence',
        400,
        'INVALID_REQUEST',
        { action: 'withdraw', purpose: 'marketing', evidenceRef: undefined },
      ],
      [
        'a grant of none',
        400,
        'INVALID_REQUEST',
        {
          action: 'grant',
          purpose: 'marketing',
          granularity: 'none',
          basis: 'consent',
        },
      ],
      ['an unknown action', 400, 'INVALID_REQUEST', { action: 'sell', purpose: 'marketing' }],
      [
        'a subject reference in the body',
        400,
        'INVALID_REQUEST',
        {
          action: 'withdraw',
          purpose: 'marketing',
          subjectRef: subject(8),
        },
      ],
      [
        'a malformed recipient',
        400,
        'INVALID_REQUEST',
        { action: 'withdraw', purpose: 'marketing', recipient: 'Acme Ltd' },
      ],
    ] as const)('%s: %i %s', async (_, status, code, json) => {
      const refused = await change(occupancyId, json);
      expect(refused.status).toBe(status);
      expect(refused.body).toMatchObject({ code, message: expect.any(String) });
      expect(refused.text).not.toContain(subject(8));
    });

    it("recorded nothing and published nothing for them, and audited the rules' refusals", async () => {
      expect(await ledger(occupancyId)).toEqual([]);
      const refusals = await auditTap.waitFor(
        (r) => r.json.subject === occupancyId && r.json.outcome === 'refused',
        10,
        'refusals audited',
      );
      expect(refusals.map((r) => (r.json.detail as { reason: string }).reason)).toEqual(
        expect.arrayContaining([
          'GRANULARITY_NOT_PERMITTED',
          'OPT_OUT_NOT_AVAILABLE',
          'EVIDENCE_REF_INVALID',
        ]),
      );
      expect(consentTap.records.filter((r) => r.json.occupancyId === occupancyId)).toEqual([]);
      expect(
        stateTap.records.filter((r) => r.json.occupancyId === occupancyId && Number(r.json.version) > 0),
      ).toEqual([]);
    });

    it('refuses a grant once the household has moved out: 409 OCCUPANCY_CLOSED; a withdrawal still goes in', async () => {
      const closedId = await open(9);
      expect(
        (
          await h.request('POST', `/v1/occupancies/${closedId}/close`, {
            key: operator,
            json: { to: '2026-03-01T00:00:00.000Z' },
          })
        ).status,
      ).toBe(200);
      const refused = await change(closedId, {
        action: 'grant',
        purpose: 'marketing',
        granularity: 'daily',
        basis: 'consent',
      });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'OCCUPANCY_CLOSED' });
      expect((await change(closedId, { action: 'withdraw', purpose: 'marketing' })).status).toBe(201);
    });

    it("answers an unknown occupancy and another tenant's alike: 404 OCCUPANCY_NOT_FOUND", async () => {
      const other = await enrollment.tenant('pvconsent');
      const missing = `occ-${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`;
      for (const [id, key] of [
        [missing, operator],
        [occupancyId, other.adminKey],
      ] as const) {
        const grant = await change(
          id,
          { action: 'grant', purpose: 'marketing', granularity: 'daily', basis: 'consent' },
          key,
        );
        expect(grant.status).toBe(404);
        expect(grant.body).toMatchObject({ code: 'OCCUPANCY_NOT_FOUND' });
        for (const path of ['consents', 'permissions'])
          expect((await h.request('GET', `/v1/occupancies/${id}/${path}`, { key })).status).toBe(404);
      }
    });

    it('lets the auditor read but not change: 403', async () => {
      const refused = await change(occupancyId, { action: 'withdraw', purpose: 'marketing' }, auditor);
      expect(refused.status).toBe(403);
      expect(
        (await h.request('GET', `/v1/occupancies/${occupancyId}/consents`, { key: auditor })).status,
      ).toBe(200);
      expect((await change(occupancyId, { action: 'withdraw', purpose: 'marketing' }, admin)).status).toBe(
        201,
      );
      expect(
        (await h.request('GET', `/v1/occupancies/${occupancyId}/permissions?asOf=soon`, { key: auditor }))
          .status,
      ).toBe(400);
    });
  });

  it('never puts a subject reference or the evidence on a topic or in the log', async () => {
    await consentTap.waitFor(
      (r) => String(r.json.meterId).startsWith(`MTR-CN-${run}-`),
      8,
      'consent records',
    );
    for (const record of [...consentTap.records, ...stateTap.records]) {
      expect(record.value).not.toContain(`hh-${run}`);
      expect(record.value).not.toContain('subjectRef');
      expect(record.value).not.toContain('sha256:');
    }
    const log = h.logs.join('\n');
    expect(log).not.toContain(`hh-${run}`);
  });
});
