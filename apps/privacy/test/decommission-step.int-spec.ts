// Privacy's step of a meter's decommissioning on the real stack: the open occupancy closed at the
// registry's time, then erased through the erasure saga (default policy) or its keys retained.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
  ENROLLMENT_DECOMMISSION_REQUESTS,
  type EnrollmentDecommissionConfirmationEvent,
} from '@meterkeep/contracts';
import { checkDocumentSignature } from '@meterkeep/firmware';
import { EventProducer } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import { DecommissionPoliciesRepository } from '../src/decommissions/decommission-policies.repository';
import { EnrollmentProcess, PrivacyHarness, TopicTap, testKafka, waitUntil } from './privacy-test-kit';

interface MeterKeys {
  occupancies: { occupancyId: string; keyId: string; destroyed: boolean }[];
}

describe("privacy: its step of a meter's decommissioning", () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let producer: EventProducer;
  let confirmations: TopicTap;
  let dir: string;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const runId = randomBytes(4).toString('hex');
  const logger = createLogger({ service: 'decommission-privacy-it', level: 'error' });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'decommission-privacy-it-'));
    const keyFile = join(dir, 'certificate-key.pem');
    await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    enrollment = await EnrollmentProcess.start('privacy');
    h = await PrivacyHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      env: {
        PRIVACY_KEK_CHECK_INTERVAL_S: '0',
        PRIVACY_RETENTION_CHECK_INTERVAL_S: '0',
        PRIVACY_CERTIFICATE_KEY_FILE: keyFile,
        PRIVACY_ERASURE_CONFIRMERS: 'privacy',
        PRIVACY_ERASURE_RETRY_MS: '300',
      },
    });
    producer = new EventProducer({
      kafka: testKafka(),
      logger,
      contracts: [ENROLLMENT_DECOMMISSION_REQUESTS],
    });
    await producer.connect();
    confirmations = await TopicTap.open(testKafka(), ENROLLMENT_DECOMMISSION_CONFIRMATIONS);
  });
  afterAll(async () => {
    await confirmations?.close();
    await producer?.disconnect();
    await h?.stop();
    await enrollment?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Asks as enrollment's saga does, attempt after attempt, until privacy confirms its step done. */
  async function decommission(tenantId: string, meterId: string, decommissionedAt: Date) {
    const decommissionId = `dc-${randomUUID()}`;
    let attempt = 0;
    return waitUntil(
      async () => {
        const answers = confirmations.records
          .map((r) => r.json as unknown as EnrollmentDecommissionConfirmationEvent)
          .filter((c) => c.decommissionId === decommissionId);
        const done = answers.find((c) => c.outcome === 'completed' || c.outcome === 'not-applicable');
        if (done) return { done, answers };
        if (answers.length >= attempt) {
          attempt += 1;
          await producer.publishMany(ENROLLMENT_DECOMMISSION_REQUESTS, [
            {
              eventId: randomUUID(),
              tenantId,
              occurredAt: new Date().toISOString(),
              decommissionId,
              attempt,
              deviceId: meterId,
              decommissionedAt: decommissionedAt.toISOString(),
            },
          ]);
        }
        return undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, description: `privacy's step for ${meterId}` },
    );
  }

  async function occupied(tenantId: string, operator: string, meterId: string) {
    const opened = await h.request<{ occupancyId: string; keyId: string }>('POST', '/v1/occupancies', {
      key: operator,
      json: { meterId, subjectRef: `subj-${runId}-${meterId}`, from: '2026-01-01T00:00:00Z' },
    });
    expect(opened.status).toBe(201);
    return opened.body;
  }
  const keysOf = async (tenantId: string, meterId: string) =>
    (await h.internal<MeterKeys>(`/internal/v1/tenants/${tenantId}/meters/${meterId}/data-keys`)).body;

  it('by default closes the open occupancy and erases it: key destroyed, erasure certified and signed', async () => {
    const { tenantId, adminKey } = await enrollment.tenant('pvdecom');
    const operator = await enrollment.key(tenantId, 'operator');
    const meterId = `MTR-DC-${runId}-1`;
    const occupancy = await occupied(tenantId, operator, meterId);
    const at = new Date();
    const { done, answers } = await decommission(tenantId, meterId, at);
    expect(done).toMatchObject({ service: 'privacy', outcome: 'completed' });
    expect(done.facts).toMatchObject({
      occupancyId: occupancy.occupancyId,
      closedAt: at.toISOString(),
      policy: 'erase',
      erasureState: 'CERTIFIED',
    });
    // Never assumed: while the erasure ran, the step said pending (or was done at once).
    expect(answers.every((a) => a.outcome === 'pending' || a.outcome === 'completed')).toBe(true);

    const view = await h.request<{ to: string | null }>('GET', `/v1/occupancies/${occupancy.occupancyId}`, {
      key: adminKey,
    });
    expect(view.body.to).toBe(at.toISOString());
    const keys = await keysOf(tenantId, meterId);
    expect(keys.occupancies.find((o) => o.occupancyId === occupancy.occupancyId)).toMatchObject({
      destroyed: true,
    });
    const subject = `subj-${runId}-${meterId}`;
    const certificate = await h.request<Record<string, unknown>>(
      'GET',
      `/v1/subjects/${subject}/erasures/${String(done.facts!.erasureId)}/certificate`,
      { key: adminKey },
    );
    expect(certificate.status).toBe(200);
    expect(checkDocumentSignature(certificate.body, publicKey)).toEqual({ ok: true });

    // Asked again (a late retry): the same facts, nothing reopened or erased twice.
    const again = await decommission(tenantId, meterId, at);
    expect(again.done.facts).toMatchObject({
      occupancyId: occupancy.occupancyId,
      erasureId: done.facts!.erasureId,
    });
  });

  it('lets a tenant admin set the policy (audited with the reason); other roles read it, another tenant keeps the default', async () => {
    const { tenantId, adminKey } = await enrollment.tenant('pvdecpol');
    const operator = await enrollment.key(tenantId, 'operator');
    const auditor = await enrollment.key(tenantId, 'auditor');
    const other = await enrollment.tenant('pvdecpol2');
    const policy = (key: string, json?: unknown) =>
      h.request<Record<string, unknown>>(json === undefined ? 'GET' : 'PUT', '/v1/decommission-policy', {
        key,
        ...(json !== undefined && { json }),
      });

    expect((await policy(auditor)).body).toEqual({
      policy: 'erase',
      retentions: [],
      isDefault: true,
      updatedAt: null,
      updatedBy: null,
    });
    const reason = 'DPO-2026-031: billing disputes';
    expect((await policy(operator, { policy: 'retain', reason })).status).toBe(403);
    expect((await policy(adminKey, { policy: 'retain' })).status).toBe(400);
    expect((await policy(adminKey, { policy: 'keep-forever', reason })).status).toBe(400);
    expect((await policy(adminKey, { policy: 'retain', reason, extra: 1 })).status).toBe(400);
    expect((await policy(adminKey, { policy: 'retain', reason: 'x'.repeat(201) })).status).toBe(400);
    const set = await policy(adminKey, { policy: 'retain', reason });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ policy: 'retain', isDefault: false, updatedAt: expect.any(String) });
    expect((await policy(auditor)).body).toMatchObject({ policy: 'retain', isDefault: false });
    expect((await policy(other.adminKey)).body).toMatchObject({ policy: 'erase', isDefault: true });
    expect(await h.service.app.get(DecommissionPoliciesRepository).policyOf(tenantId)).toEqual({
      policy: 'retain',
      retentions: [],
    });

    const audited = await sql<{ record: { action: string; detail: Record<string, unknown> } }>`select record
      from audit_records where tenant_id = ${tenantId} and record->>'action' = 'privacy.decommission-policy-set'`.execute(
      h.db,
    );
    expect(audited.rows.map((r) => r.record.detail)).toEqual([
      { policy: 'retain', previousPolicy: 'erase', retentions: '', reason },
    ]);
  });

  it("under a tenant's retain policy closes the occupancy and keeps its key", async () => {
    const { tenantId, adminKey } = await enrollment.tenant('pvdecret');
    const operator = await enrollment.key(tenantId, 'operator');
    const set = await h.request('PUT', '/v1/decommission-policy', {
      key: adminKey,
      json: { policy: 'retain', reason: 'kept for billing disputes' },
    });
    expect(set.status).toBe(200);
    const meterId = `MTR-DC-${runId}-2`;
    const occupancy = await occupied(tenantId, operator, meterId);
    const { done } = await decommission(tenantId, meterId, new Date());
    expect(done).toMatchObject({ outcome: 'completed', facts: { policy: 'retain' } });
    const keys = await keysOf(tenantId, meterId);
    expect(keys.occupancies.find((o) => o.occupancyId === occupancy.occupancyId)).toMatchObject({
      destroyed: false,
    });
  });

  it("under erase with retentions keeps each purpose under a retention key dated by the tenant's schedule", async () => {
    const { tenantId, adminKey } = await enrollment.tenant('pvdecker');
    const operator = await enrollment.key(tenantId, 'operator');
    const reason = 'DPO-2026-044: billing records kept 6 years';
    const retentions = [{ purpose: 'billing', granularity: 'monthly' }];
    const put = (json: unknown) =>
      h.request<{ code?: string; retentions?: unknown }>('PUT', '/v1/decommission-policy', {
        key: adminKey,
        json,
      });
    // Refused: no schedule for the purpose yet; retentions beside retain; the same purpose twice.
    const unscheduled = await put({ policy: 'erase', reason, retentions });
    expect(unscheduled.status).toBe(422);
    expect(unscheduled.body.code).toBe('RETENTION_SCHEDULE_MISSING');
    expect((await put({ policy: 'retain', reason, retentions })).status).toBe(400);
    expect((await put({ policy: 'erase', reason, retentions: [...retentions, ...retentions] })).status).toBe(
      400,
    );
    const schedule = await h.request('PUT', '/v1/retention-schedules/billing', {
      key: adminKey,
      json: { retainDays: 2190, legalBasis: 'GDPR Art. 17(3)(b)', reference: 'Limitation Act 1980 s.5' },
    });
    expect(schedule.status).toBe(200);
    const set = await put({ policy: 'erase', reason, retentions });
    expect(set.status).toBe(200);
    expect(set.body.retentions).toEqual(retentions);

    const meterId = `MTR-DC-${runId}-4`;
    const occupancy = await occupied(tenantId, operator, meterId);
    const before = Date.now();
    const { done } = await decommission(tenantId, meterId, new Date());
    expect(done).toMatchObject({
      outcome: 'completed',
      facts: { policy: 'erase', erasureState: 'CERTIFIED' },
    });
    const keys = await keysOf(tenantId, meterId);
    expect(keys.occupancies.find((o) => o.occupancyId === occupancy.occupancyId)).toMatchObject({
      destroyed: true,
    });
    const certificate = await h.request<{
      retainedUnderException: {
        purpose: string;
        granularity: string;
        legalBasis: string;
        reference: string;
        retainUntil: string;
      }[];
    }>('GET', `/v1/subjects/subj-${runId}-${meterId}/erasures/${String(done.facts!.erasureId)}/certificate`, {
      key: adminKey,
    });
    expect(certificate.status).toBe(200);
    expect(certificate.body.retainedUnderException).toEqual([
      expect.objectContaining({
        occupancyId: occupancy.occupancyId,
        purpose: 'billing',
        granularity: 'monthly',
        legalBasis: 'GDPR Art. 17(3)(b)',
        reference: 'Limitation Act 1980 s.5',
      }),
    ]);
    const retainUntil = Date.parse(certificate.body.retainedUnderException[0]!.retainUntil);
    const DAY = 24 * 3600 * 1000;
    expect(retainUntil).toBeGreaterThanOrEqual(before + 2190 * DAY);
    expect(retainUntil).toBeLessThanOrEqual(Date.now() + 2190 * DAY);
  });

  it('answers not-applicable for a meter with no occupancy', async () => {
    const { tenantId } = await enrollment.tenant('pvdecna');
    const { done } = await decommission(tenantId, `MTR-DC-${runId}-3`, new Date());
    expect(done).toMatchObject({ outcome: 'not-applicable' });
  });
});
