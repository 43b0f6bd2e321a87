// Privacy's step of a meter's decommissioning on the real stack: the open occupancy closed at the
// registry's time (back-dated as any close: releases recalled, staged readings deleted, a re-seal job),
// then erased through the erasure saga (default policy) or its keys retained.
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
  PRIVACY_RELEASE_RECALLS,
  TELEMETRY_READINGS,
  TELEMETRY_RELEASED,
  type TelemetryReleasedEvent,
  validateEvent,
} from '@meterkeep/contracts';
import { checkDocumentSignature } from '@meterkeep/firmware';
import { EventProducer } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import { startGroupAtEnd } from '@meterkeep/testing';
import { DataKeyVault } from '../src/data-keys/data-key-vault';
import { DecommissionPoliciesRepository } from '../src/decommissions/decommission-policies.repository';
import { ResealWorker } from '../src/reseal/reseal-worker';
import {
  EnrollmentProcess,
  PrivacyHarness,
  TopicTap,
  sealedDays,
  testKafka,
  waitUntil,
} from './privacy-test-kit';

const DAY = 86_400_000;
/** A January long closed and within the release look-back, whatever the day the suite runs. */
const YEAR = new Date(Date.now() - 60 * DAY).getUTCFullYear();
const JAN = (day: number, hour = 0) => Date.UTC(YEAR, 0, day, hour);
/** Billing, insights, settlement and forecasting: monthly for a pre-2019 contract without opt-in. */
const SUPPLIER_MONTHLY = 4;

interface MeterKeys {
  occupancies: { occupancyId: string; keyId: string; destroyed: boolean }[];
}

describe("privacy: its step of a meter's decommissioning", () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let producer: EventProducer;
  let confirmations: TopicTap;
  let released: TopicTap;
  let recalls: TopicTap;
  let dir: string;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const runId = randomBytes(4).toString('hex');
  const logger = createLogger({ service: 'decommission-privacy-it', level: 'error' });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'decommission-privacy-it-'));
    const keyFile = join(dir, 'certificate-key.pem');
    await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    enrollment = await EnrollmentProcess.start('privacy');
    const groupId = `privacy-release-dc-${runId}`;
    await startGroupAtEnd(testKafka(), groupId, TELEMETRY_READINGS.name);
    h = await PrivacyHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      env: {
        PRIVACY_KEK_CHECK_INTERVAL_S: '0',
        PRIVACY_RETENTION_CHECK_INTERVAL_S: '0',
        PRIVACY_CERTIFICATE_KEY_FILE: keyFile,
        PRIVACY_ERASURE_CONFIRMERS: 'privacy',
        PRIVACY_ERASURE_RETRY_MS: '300',
        PRIVACY_RELEASE_INTERVAL_MS: '200',
        PRIVACY_RELEASE_GRACE_S: '2',
        PRIVACY_RELEASE_LOOKBACK_DAYS: '500',
        // Re-seal jobs are run by the tests, to see them pending first.
        PRIVACY_RESEAL_INTERVAL_MS: '0',
      },
      release: { groupId, maxWaitTimeInMs: 100 },
    });
    producer = new EventProducer({
      kafka: testKafka(),
      logger,
      contracts: [ENROLLMENT_DECOMMISSION_REQUESTS, TELEMETRY_READINGS],
    });
    await producer.connect();
    [confirmations, released, recalls] = await Promise.all([
      TopicTap.open(testKafka(), ENROLLMENT_DECOMMISSION_CONFIRMATIONS),
      TopicTap.open(testKafka(), TELEMETRY_RELEASED),
      TopicTap.open(testKafka(), PRIVACY_RELEASE_RECALLS),
    ]);
  });
  afterAll(async () => {
    await Promise.all([confirmations, released, recalls].map((tap) => tap?.close()));
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

  /** An occupancy from 1 January (a pre-2019 contract), its key, and ten days sealed under it from then. */
  async function occupiedWithReadings(tenantId: string, operator: string, meterId: string) {
    const opened = await h.request<{ occupancyId: string; keyId: string }>('POST', '/v1/occupancies', {
      key: operator,
      json: {
        meterId,
        subjectRef: `subj-${runId}-${meterId}`,
        from: new Date(JAN(1)).toISOString(),
        contractDate: '2018-01-01',
      },
    });
    expect(opened.status, opened.text).toBe(201);
    const row = await h.db
      .selectFrom('data_keys')
      .selectAll()
      .where('key_id', '=', opened.body.keyId)
      .executeTakeFirstOrThrow();
    const key = { keyId: opened.body.keyId, key: await h.service.app.get(DataKeyVault).open(row) };
    return {
      ...opened.body,
      records: sealedDays({ tenantId, meterId, key, from: JAN(1), days: 10, run: runId }),
    };
  }
  /** The close's re-seal jobs (the back-dated open queued one of its own). */
  const resealJobs = (meterId: string) =>
    h.db
      .selectFrom('reseal_jobs')
      .selectAll()
      .where('meter_id', '=', meterId)
      .where('reason', '!=', 'backdated-open')
      .execute();

  it('closes back-dated at the registry’s time as any close: releases from then recalled, staged readings from then deleted, a re-seal job to the meter key', async () => {
    const { tenantId, adminKey } = await enrollment.tenant('pvdecbd');
    const operator = await enrollment.key(tenantId, 'operator');
    // Retain: the erasure would delete every staged reading, hiding which ones the close deleted.
    const set = await h.request('PUT', '/v1/decommission-policy', {
      key: adminKey,
      json: { policy: 'retain', reason: 'to see the close alone' },
    });
    expect(set.status).toBe(200);
    const meterId = `MTR-DC-${runId}-5`;
    const A = await occupiedWithReadings(tenantId, operator, meterId);
    const grant = await h.grantThirdPartyDaily(operator, A.occupancyId, {
      evidenceRef: `web:decommission-it/v1/sha256:${'ef'.repeat(32)}`,
      historicalFrom: new Date(JAN(1)).toISOString(),
      effectiveTo: new Date(Date.now() + 30 * DAY).toISOString(),
    });
    expect(grant.status, grant.text).toBe(201);
    await producer.publishMany(TELEMETRY_READINGS, A.records);
    const ofA = (r: { json: Record<string, unknown> }) => r.json.occupancyId === A.occupancyId;
    await released.waitFor(ofA, SUPPLIER_MONTHLY + 10, 'released values', 40_000);
    const releasesOfA = released.records.filter(ofA).map((r) => r.json as unknown as TelemetryReleasedEvent);
    const staged = () =>
      h.db
        .selectFrom('release_readings')
        .select('interval_start')
        .where('occupancy_id', '=', A.occupancyId)
        .execute();
    expect(await staged()).toHaveLength(480);

    // Decommissioned on 6 January at noon (further back than PRIVACY_MAX_BACKDATE_DAYS): known only now.
    const T = JAN(6, 12);
    const { done } = await decommission(tenantId, meterId, new Date(T));
    expect(done).toMatchObject({
      outcome: 'completed',
      facts: { occupancyId: A.occupancyId, closedAt: new Date(T).toISOString(), policy: 'retain' },
    });

    // January's four supplier values and the coach's days 6 to 10 held readings from T on: recalled.
    const expected = releasesOfA.filter((r) => Date.parse(r.windowEnd) > T);
    expect(expected).toHaveLength(SUPPLIER_MONTHLY + 5);
    await recalls.waitFor(ofA, 2, 'recall notices', 20_000);
    const notices = recalls.records.filter(ofA).map((r) => validateEvent(PRIVACY_RELEASE_RECALLS, r.json));
    expect(notices.map((n) => n.recipient).sort()).toEqual(['supplier', 'third-party:coach']);
    for (const notice of notices) {
      expect(notice).toMatchObject({
        reason: 'occupancy-backdated',
        period: { from: new Date(T).toISOString() },
      });
      expect(notice.releases.map((r) => r.releaseId).sort()).toEqual(
        expected
          .filter((r) => r.recipient === notice.recipient)
          .map((r) => r.eventId)
          .sort(),
      );
    }
    const recalled = await h.db
      .selectFrom('release_recalls')
      .select('release_event_id')
      .where('meter_id', '=', meterId)
      .execute();
    expect(recalled.map((r) => r.release_event_id).sort()).toEqual(expected.map((r) => r.eventId).sort());

    // The gate's staged readings from T on are gone; those before stay (5.5 days of half-hours).
    const left = await staged();
    expect(left).toHaveLength(5 * 48 + 24);
    expect(left.every((r) => r.interval_start.getTime() < T)).toBe(true);

    // A re-seal job from T, and the close audited as back-dated with what it did.
    const [job, ...more] = await resealJobs(meterId);
    expect(more).toEqual([]);
    expect(job).toMatchObject({ occupancy_id: A.occupancyId, reason: 'backdated-close', state: 'pending' });
    expect(job!.reseal_from.getTime()).toBe(T);
    const audit = await sql<{ record: { action: string; actor: string; detail: Record<string, unknown> } }>`
      select record from audit_records where tenant_id = ${tenantId}
        and record->>'action' = 'privacy.occupancy-closed'`.execute(h.db);
    expect(audit.rows.map((r) => [r.record.actor, r.record.detail])).toEqual([
      [
        'privacy:decommission',
        expect.objectContaining({ backdated: true, unstagedReadings: 216, recalledReleases: 9 }),
      ],
    ]);

    // No occupancy follows: the job moves the readings from T on to the meter's own key.
    expect(await h.service.app.get(ResealWorker).runDue()).toBeGreaterThanOrEqual(1);
    const [ran] = await resealJobs(meterId);
    expect(ran).toMatchObject({ state: 'done', records_resealed: 5, items_resealed: 216 });
    const keys = await keysOf(tenantId, meterId);
    expect(keys.occupancies.find((o) => o.occupancyId === A.occupancyId)).toMatchObject({ destroyed: false });

    // Asked again: nothing recalled, deleted or queued twice.
    await decommission(tenantId, meterId, new Date(T));
    expect(await resealJobs(meterId)).toHaveLength(1);
    expect(recalls.records.filter(ofA)).toHaveLength(2);
  });

  it('under erase, the re-seal job run after the key was destroyed leaves what is under it and completes', async () => {
    const { tenantId } = await enrollment.tenant('pvdecbe');
    const operator = await enrollment.key(tenantId, 'operator');
    const meterId = `MTR-DC-${runId}-6`;
    const A = await occupiedWithReadings(tenantId, operator, meterId);
    await producer.publishMany(TELEMETRY_READINGS, A.records);
    const T = JAN(6, 12);
    const { done } = await decommission(tenantId, meterId, new Date(T));
    expect(done).toMatchObject({
      outcome: 'completed',
      facts: { policy: 'erase', erasureState: 'CERTIFIED' },
    });
    const [job] = await resealJobs(meterId);
    expect(job).toMatchObject({ reason: 'backdated-close', state: 'pending' });
    await h.service.app.get(ResealWorker).runDue();
    const [ran] = await resealJobs(meterId);
    // Nothing sealed under the destroyed key can be opened, nor is anything sealed under it: not failed.
    expect(ran).toMatchObject({ state: 'done', attempts: 0, records_resealed: 0, items_resealed: 0 });
    expect(ran!.records_scanned).toBeGreaterThanOrEqual(5);
  });

  it('answers not-applicable for a meter with no occupancy', async () => {
    const { tenantId } = await enrollment.tenant('pvdecna');
    const { done } = await decommission(tenantId, `MTR-DC-${runId}-3`, new Date());
    expect(done).toMatchObject({ outcome: 'not-applicable' });
  });
});
