// Recall after a back-dated move-out on the real stack (spec §4.3 with §4.2): values the gate released
// under the old occupant's consent that held readings from the new close on are recalled, one notice
// per recipient on raw privacy.release-recalls.v1 naming exactly those releases, once; both occupants'
// exports show it.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PRIVACY_RELEASE_RECALLS,
  TELEMETRY_READINGS,
  TELEMETRY_RELEASED,
  type TelemetryReleasedEvent,
  validateEvent,
} from '@meterkeep/contracts';
import { EventProducer } from '@meterkeep/kafka';
import { startGroupAtEnd } from '@meterkeep/testing';
import { DataKeyVault } from '../src/data-keys/data-key-vault';
import type { ReleaseEntry } from '../src/exports/release-entries';
import { ResealWorker } from '../src/reseal/reseal-worker';
import {
  EnrollmentProcess,
  PrivacyHarness,
  TopicTap,
  downloadExport,
  sealedDays,
  testKafka,
  waitUntil,
} from './privacy-test-kit';

const DAY = 86_400_000;
/** A January long closed and within the look-back, whatever the day the suite runs. */
const YEAR = new Date(Date.now() - 60 * DAY).getUTCFullYear();
const JAN = (day: number, hour = 0) => Date.UTC(YEAR, 0, day, hour);
/** Billing, insights, settlement and forecasting: monthly for a pre-2019 contract without opt-in. */
const SUPPLIER_MONTHLY = 4;

describe('privacy: recall of releases after a back-dated move-out', () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let producer: EventProducer;
  let released: TopicTap;
  let recalls: TopicTap;
  let dir: string;
  let tenantId: string;
  let admin: string;
  let operator: string;
  const run = randomBytes(4).toString('hex');
  const meterId = `MTR-RC-${run}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'recall-it-'));
    const keyFile = join(dir, 'certificate-key.pem');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    enrollment = await EnrollmentProcess.start('privacy');
    const kafka = testKafka();
    const groupId = `privacy-release-rc-${run}`;
    await startGroupAtEnd(kafka, groupId, TELEMETRY_READINGS.name);
    h = await PrivacyHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      env: {
        PRIVACY_RELEASE_INTERVAL_MS: '200',
        PRIVACY_RELEASE_GRACE_S: '2',
        PRIVACY_RELEASE_LOOKBACK_DAYS: '500',
        PRIVACY_RESEAL_INTERVAL_MS: '0',
        PRIVACY_CERTIFICATE_KEY_FILE: keyFile,
        PRIVACY_EXPORT_INTERVAL_MS: '200',
        PRIVACY_KEK_CHECK_INTERVAL_S: '0',
        PRIVACY_RETENTION_CHECK_INTERVAL_S: '0',
      },
      release: { groupId, maxWaitTimeInMs: 100 },
    });
    ({ tenantId, adminKey: admin } = await enrollment.tenant());
    operator = await enrollment.key(tenantId, 'operator');
    producer = new EventProducer({ kafka, contracts: [TELEMETRY_READINGS] });
    await producer.connect();
    [released, recalls] = await Promise.all([
      TopicTap.open(kafka, TELEMETRY_RELEASED),
      TopicTap.open(kafka, PRIVACY_RELEASE_RECALLS),
    ]);
  });
  afterAll(async () => {
    await Promise.all([released, recalls].map((tap) => tap?.close()));
    await producer?.disconnect();
    await h?.stop();
    await enrollment?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const open = async (subject: string, from: number) => {
    const opened = await h.request<{ occupancyId: string; keyId: string }>('POST', '/v1/occupancies', {
      key: operator,
      json: {
        meterId,
        subjectRef: `hh-${run}-${subject}`,
        from: new Date(from).toISOString(),
        contractDate: '2018-01-01',
      },
    });
    expect(opened.status, opened.text).toBe(201);
    return opened.body;
  };
  const close = (occupancyId: string, to: number) =>
    h.request('POST', `/v1/occupancies/${occupancyId}/close`, {
      key: operator,
      json: { to: new Date(to).toISOString() },
    });
  /** One sealed record per UTC day from `from`, 48 half-hourly readings each, under `keyId`. */
  const sealedUnder = async (keyId: string, from: number, days: number) => {
    const row = await h.db
      .selectFrom('data_keys')
      .selectAll()
      .where('key_id', '=', keyId)
      .executeTakeFirstOrThrow();
    const key = { keyId, key: await h.service.app.get(DataKeyVault).open(row) };
    return sealedDays({ tenantId, meterId, key, from, days, run });
  };
  const recallsOf = (occupancyId: string) =>
    recalls.records
      .filter((r) => r.json.occupancyId === occupancyId)
      .map((r) => validateEvent(PRIVACY_RELEASE_RECALLS, r.json));
  const exportReleases = async (subject: string) => {
    const requested = await h.request<{ exportId: string }>(
      'POST',
      `/v1/subjects/hh-${run}-${subject}/exports`,
      { key: admin, json: {} },
    );
    expect(requested.status, requested.text).toBe(202);
    type Body = Parameters<typeof downloadExport>[0] & { state: string; error: string | null };
    const body = await waitUntil(
      async () => {
        const got = await h.request<Body>(
          'GET',
          `/v1/subjects/hh-${run}-${subject}/exports/${requested.body.exportId}`,
          { key: admin },
        );
        if (got.body.state === 'FAILED') throw new Error(`export failed: ${got.body.error}`);
        return got.body.state === 'READY' ? got.body : undefined;
      },
      { timeoutMs: 30_000, description: `export of ${subject}` },
    );
    const archive = await downloadExport(body, dir);
    return {
      text: (await archive.file('releases.json')).toString(),
      entries: await archive.json<ReleaseEntry[]>('releases.json'),
    };
  };

  it('recalls per recipient exactly the releases holding readings from the back-dated close on; once; both exports show it', async () => {
    const A = await open('a', JAN(1));
    const grant = await h.grantThirdPartyDaily(operator, A.occupancyId, {
      evidenceRef: `web:recall-it/v1/sha256:${'ef'.repeat(32)}`,
      historicalFrom: new Date(JAN(1)).toISOString(),
      effectiveTo: new Date(Date.now() + 30 * DAY).toISOString(),
    });
    expect(grant.status, grant.text).toBe(201);
    // Ten days sealed under A's key and released under A's consent before the move-out is known.
    await producer.publishMany(TELEMETRY_READINGS, await sealedUnder(A.keyId, JAN(1), 10));
    const ofA = (r: { json: Record<string, unknown> }) => r.json.occupancyId === A.occupancyId;
    await released.waitFor(ofA, SUPPLIER_MONTHLY + 10, 'A’s released values', 40_000);
    const releasesOfA = released.records.filter(ofA).map((r) => r.json as unknown as TelemetryReleasedEvent);
    expect(releasesOfA).toHaveLength(SUPPLIER_MONTHLY + 10);

    // A left on 6 January at noon without notice; recorded now. B moved in then.
    const T = JAN(6, 12);
    const before = Date.now();
    const closed = await close(A.occupancyId, T);
    expect(closed.status, closed.text).toBe(200);
    const after = Date.now();
    const B = await open('b', T);

    const expected = releasesOfA.filter((r) => Date.parse(r.windowEnd) > T);
    // January's four supplier values and the coach's days 6 to 10; never the coach's days 1 to 5.
    expect(expected).toHaveLength(SUPPLIER_MONTHLY + 5);
    await recalls.waitFor(ofA, 2, 'recall notices', 20_000);
    const notices = recallsOf(A.occupancyId);
    expect(notices.map((n) => n.recipient).sort()).toEqual(['supplier', 'third-party:coach']);
    for (const notice of notices) {
      expect(notice).toMatchObject({
        tenantId,
        reason: 'occupancy-backdated',
        meterId,
        period: { from: new Date(T).toISOString() },
        part: 1,
        parts: 1,
      });
      expect(Date.parse(notice.period.to)).toBeGreaterThanOrEqual(before - 1_000);
      expect(Date.parse(notice.period.to)).toBeLessThanOrEqual(after + 1_000);
      expect(notice.releases.map((r) => r.releaseId).sort()).toEqual(
        expected
          .filter((r) => r.recipient === notice.recipient)
          .map((r) => r.eventId)
          .sort(),
      );
      // Nothing of the next occupancy, nor a value: the released records' labels only.
      expect(JSON.stringify(notice)).not.toContain(B.occupancyId);
    }
    const coach = notices.find((n) => n.recipient === 'third-party:coach')!;
    expect(coach.releases.map((r) => r.windowStart)).toEqual(
      [6, 7, 8, 9, 10].map((d) => new Date(JAN(d)).toISOString()),
    );
    const tapped = recalls.records.filter(ofA);
    expect(tapped.every((r) => r.key === `${tenantId}/${A.occupancyId}`)).toBe(true);

    // Audited: one record per notice, and the close counts what it recalled.
    const audit = (
      await h.db.selectFrom('audit_records').select('record').where('tenant_id', '=', tenantId).execute()
    ).map((r) => r.record as { action: string; subject: string; detail?: Record<string, unknown> });
    const recalledAudit = audit.filter((r) => r.action === 'privacy.releases-recalled');
    expect(recalledAudit.map((r) => [r.subject, r.detail?.recipient, r.detail?.releases]).sort()).toEqual(
      [
        [A.occupancyId, 'supplier', SUPPLIER_MONTHLY],
        [A.occupancyId, 'third-party:coach', 5],
      ].sort(),
    );
    expect(audit.find((r) => r.action === 'privacy.occupancy-closed')?.detail).toMatchObject({
      backdated: true,
      recalledReleases: SUPPLIER_MONTHLY + 5,
    });

    // The close again, and the re-seal jobs run twice (a crash before one was marked done): no new notice.
    expect((await close(A.occupancyId, T)).status).toBe(200);
    const worker = h.service.app.get(ResealWorker);
    await worker.runDue();
    await h.db.updateTable('reseal_jobs').set({ state: 'pending' }).where('meter_id', '=', meterId).execute();
    await worker.runDue();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(recalls.records.filter(ofA)).toHaveLength(2);
    const rows = await h.db
      .selectFrom('release_recalls')
      .select('release_event_id')
      .where('meter_id', '=', meterId)
      .execute();
    expect(rows).toHaveLength(SUPPLIER_MONTHLY + 5);

    // A's export marks the recalled releases; B's lists them as released under another consent.
    const ofAExport = await exportReleases('a');
    const recalledIds = new Set(expected.map((r) => r.eventId));
    expect(ofAExport.entries).toHaveLength(SUPPLIER_MONTHLY + 10);
    for (const entry of ofAExport.entries)
      if (recalledIds.has(entry.eventId))
        expect(entry.recalled).toMatchObject({
          reason: 'occupancy-backdated',
          from: new Date(T).toISOString(),
        });
      else expect(entry.recalled).toBeUndefined();
    const ofBExport = await exportReleases('b');
    const underAnother = ofBExport.entries.filter((e) => e.releasedUnder === 'another-occupancy-consent');
    expect(underAnother.map((e) => e.eventId).sort()).toEqual([...recalledIds].sort());
    for (const entry of underAnother) {
      expect(entry.occupancyId).toBe(B.occupancyId);
      expect(Date.parse(entry.readingsFrom!)).toBeGreaterThanOrEqual(T);
      expect(entry.recalled).toEqual({ at: expect.any(String), reason: 'occupancy-backdated' });
    }
    expect(ofBExport.text).not.toContain(A.occupancyId);
  });
});
