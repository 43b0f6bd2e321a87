// Tenant overrides of the consent policy preset on the real stack (issue #14): versioned data, audited,
// and each ledger entry keeps the version it was decided under.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnrollmentProcess, PrivacyHarness } from './privacy-test-kit';

const DAY = 86_400_000;
const evidence = `web:hh-optin/v3/sha256:${'9f'.repeat(32)}`;

interface PolicyView {
  policy: string;
  version: number;
  isPreset: boolean;
  basedOn: string | null;
  timeZone: string;
  purposes: Record<string, { bases: Record<string, { max: string; noticeDays?: number }> }>;
  override: Record<string, unknown> | null;
  reason: string | null;
  updatedBy: string | null;
}

describe('privacy: tenant consent policy overrides', () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let auditor: string;
  const run = randomBytes(4).toString('hex');
  let meters = 0;

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('privacy');
    h = await PrivacyHarness.start({ enrollmentUrl: enrollment.internalUrl });
    ({ tenantId, adminKey: admin } = await enrollment.tenant());
    [operator, auditor] = await Promise.all([
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'auditor'),
    ]);
  });
  afterAll(async () => {
    await h?.stop();
    await enrollment?.stop();
  });

  const getPolicy = (key = auditor) => h.request<PolicyView>('GET', '/v1/consent-policy', { key });
  const putPolicy = (json: Record<string, unknown>, key = admin) =>
    h.request<PolicyView>('PUT', '/v1/consent-policy', { key, json });
  const open = async () => {
    const opened = await h.request<{ occupancyId: string }>('POST', '/v1/occupancies', {
      key: operator,
      json: {
        meterId: `MTR-CP-${run}-${++meters}`,
        subjectRef: `hh-${run}-${meters}`,
        from: '2026-01-01T00:00:00Z',
      },
    });
    expect(opened.status).toBe(201);
    return opened.body.occupancyId;
  };
  const change = (occupancyId: string, json: Record<string, unknown>) =>
    h.request<{ policy: string; effectiveFrom: string; code?: string }>(
      'POST',
      `/v1/occupancies/${occupancyId}/consents`,
      { key: operator, json: { evidenceRef: evidence, recipient: 'supplier', ...json } },
    );
  const marketing = async (occupancyId: string) => {
    const answer = await h.request<{
      permissions: { purpose: string; recipient: string; granularity: string }[];
    }>('GET', `/v1/occupancies/${occupancyId}/permissions`, { key: auditor });
    return answer.body.permissions.find((p) => p.purpose === 'marketing' && p.recipient === 'supplier')
      ?.granularity;
  };
  const dailyDefault = (occupancyId: string, noticeSentAt: Date) =>
    change(occupancyId, {
      action: 'grant',
      purpose: 'supplier-insights',
      granularity: 'daily',
      basis: 'opt-out-default',
      noticeSentAt: noticeSentAt.toISOString(),
    });
  const insights = (noticeDays: number) => ({
    'supplier-insights': {
      bases: {
        'opt-out-default': { max: 'daily', noticeDays },
        consent: { max: 'half-hourly' },
      },
    },
  });

  it('versions overrides; earlier entries keep the version (notice days, an allowed basis) they were decided under', async () => {
    const preset = await getPolicy();
    expect(preset.status).toBe(200);
    expect(preset.body).toMatchObject({ policy: 'gb@1', version: 0, isPreset: true, override: null });
    expect(preset.body.purposes['supplier-insights']!.bases['opt-out-default']).toEqual({
      max: 'daily',
      noticeDays: 7,
    });

    // Decided under the preset: seven days' notice, marketing by consent.
    const notice = new Date(Date.now() - DAY);
    const early = await open();
    const earlyDefault = await dailyDefault(early, notice);
    expect(earlyDefault.status, JSON.stringify(earlyDefault.body)).toBe(201);
    expect(earlyDefault.body).toMatchObject({ policy: 'gb@1' });
    expect(Date.parse(earlyDefault.body.effectiveFrom)).toBe(notice.getTime() + 7 * DAY);
    const marketingGrant = {
      action: 'grant',
      purpose: 'marketing',
      granularity: 'half-hourly',
      basis: 'consent',
    };
    expect((await change(early, marketingGrant)).status).toBe(201);
    expect(await marketing(early)).toBe('half-hourly');

    // Version 1: fourteen days' notice.
    const v1 = await putPolicy({
      replacesVersion: 0,
      reason: 'DPO-1: longer notice',
      purposes: insights(14),
    });
    expect(v1.status, JSON.stringify(v1.body)).toBe(200);
    expect(v1.body).toMatchObject({
      policy: `${tenantId}@1`,
      version: 1,
      isPreset: false,
      basedOn: 'gb@1',
      reason: 'DPO-1: longer notice',
    });
    const later = await open();
    const laterDefault = await dailyDefault(later, notice);
    expect(laterDefault.body).toMatchObject({ policy: `${tenantId}@1` });
    expect(Date.parse(laterDefault.body.effectiveFrom)).toBe(notice.getTime() + 14 * DAY);

    // Version 2: marketing no longer on consent (the override is whole: it keeps the notice).
    const v2 = await putPolicy({
      replacesVersion: 1,
      reason: 'DPO-2: no marketing',
      purposes: { ...insights(14), marketing: { bases: {} } },
    });
    expect(v2.status, JSON.stringify(v2.body)).toBe(200);
    const effective = await getPolicy(operator);
    expect(effective.body).toMatchObject({ policy: `${tenantId}@2`, version: 2 });
    expect(effective.body.purposes.marketing!.bases).toEqual({});
    expect(effective.body.purposes['supplier-insights']!.bases['opt-out-default']!.noticeDays).toBe(14);
    // A new grant is refused; the one decided under the preset still permits what it did.
    const refused = await change(later, marketingGrant);
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'BASIS_NOT_ALLOWED' });
    expect(await marketing(later)).toBe('none');
    expect(await marketing(early)).toBe('half-hourly');

    // Another tenant still runs the preset.
    const other = await enrollment.tenant();
    expect((await getPolicy(other.adminKey)).body).toMatchObject({ policy: 'gb@1', isPreset: true });

    const audited = await sql<{ record: { actor: string; detail: Record<string, unknown> } }>`select record
      from audit_records where tenant_id = ${tenantId} and record->>'action' = 'privacy.consent-policy-set'
      order by sequence`.execute(h.db);
    expect(audited.rows.map((r) => r.record.detail)).toEqual([
      {
        policy: `${tenantId}@1`,
        previousPolicy: 'gb@1',
        purposes: 'supplier-insights',
        reason: 'DPO-1: longer notice',
      },
      {
        policy: `${tenantId}@2`,
        previousPolicy: `${tenantId}@1`,
        purposes: 'marketing,supplier-insights',
        reason: 'DPO-2: no marketing',
      },
    ]);
  });

  it('refuses other roles, stale versions, malformed bodies and rules that contradict each other', async () => {
    const { tenantId: fresh, adminKey } = await enrollment.tenant();
    const [freshOperator, freshAuditor] = await Promise.all([
      enrollment.key(fresh, 'operator'),
      enrollment.key(fresh, 'auditor'),
    ]);
    const body = { replacesVersion: 0, reason: 'r', purposes: insights(10) };
    for (const key of [freshOperator, freshAuditor]) {
      const forbidden = await putPolicy(body, key);
      expect(forbidden.status).toBe(403);
      expect(forbidden.body).toMatchObject({ code: 'FORBIDDEN' });
    }
    expect((await h.request('PUT', '/v1/consent-policy', { json: body })).status).toBe(401);

    for (const json of [
      { ...body, extra: 1 },
      { ...body, reason: '' },
      { ...body, replacesVersion: -1 },
      { ...body, purposes: { 'supplier-insights': { floor: 'hourly' } } },
      {
        ...body,
        purposes: {
          'supplier-insights': { bases: { 'opt-out-default': { max: 'daily', noticeDays: 400 } } },
        },
      },
      { ...body, purposes: { 'Bad Purpose': null } },
      { ...body, purposes: { billing: { recipients: ['grandma'] } } },
    ]) {
      const invalid = await putPolicy(json, adminKey);
      expect(invalid.status, JSON.stringify(json)).toBe(400);
      expect(invalid.body).toMatchObject({ code: 'INVALID_REQUEST' });
    }
    for (const json of [
      // Consent capped below billing's floor.
      { ...body, purposes: { billing: { bases: { consent: { max: 'none' } } } } },
      // Following a purpose that does not exist.
      { ...body, purposes: { forecasting: { follows: 'nothing' } } },
      // A new purpose needs recipients, floor and bases.
      { ...body, purposes: { brand: { floor: 'none' } } },
      // Kathmandu is UTC+5:45: no half-hour windows.
      { ...body, timeZone: 'Asia/Kathmandu' },
      { ...body, timeZone: 'Mars/Olympus_Mons' },
    ]) {
      const contradictory = await putPolicy(json, adminKey);
      expect(contradictory.status, JSON.stringify(json)).toBe(422);
      expect(contradictory.body).toMatchObject({ code: 'INVALID_POLICY' });
    }
    expect((await putPolicy(body, adminKey)).status).toBe(200);
    // Version 1 exists now: replacing the preset again is stale.
    const stale = await putPolicy(body, adminKey);
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'POLICY_VERSION_CONFLICT' });
    expect((await getPolicy(freshAuditor)).body).toMatchObject({ version: 1 });
  });
});
