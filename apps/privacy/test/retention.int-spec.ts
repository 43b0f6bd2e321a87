// Retention schedules and the expiry job on the real stack (spec privacy.md §4.8): a tenant admin sets a
// period per purpose, an erasure takes its retention key's date from it, and the job (its own timer)
// destroys keys past their date in SKIP LOCKED batches, each certified (ES256) and audited.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuditChainVerification,
  type AuditEvent,
  type RetentionScheduleView,
} from '@meterkeep/contracts';
import { canonicalBytes, verifyEs256 } from '@meterkeep/firmware';
import { openReadings, sealReadings } from '@meterkeep/reading-seal';
import { retentionCertificateSchema } from '../src/retention/retention-certificate';
import { RetentionExpiry } from '../src/retention/retention-expiry';
import { EnrollmentProcess, PrivacyHarness, waitUntil } from './privacy-test-kit';

const DAY = 24 * 3600 * 1000;

describe('privacy: retention schedules and the expiry job', () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let auditor: string;
  let otherAdmin: string;
  let dir: string;
  let publicKey: ReturnType<typeof generateKeyPairSync>['publicKey'];
  const run = randomBytes(4).toString('hex');

  const schedule = (purpose: string, key: string, json?: unknown) =>
    h.request<RetentionScheduleView>(json ? 'PUT' : 'GET', `/v1/retention-schedules/${purpose}`, {
      key,
      ...(json !== undefined && { json }),
    });
  const open = async (n: number) => {
    const meterId = `MTR-RT-${run}-${n}`;
    const subject = `subj-${run}-${n}`;
    const opened = await h.request<{ occupancyId: string }>('POST', '/v1/occupancies', {
      key: admin,
      json: { meterId, subjectRef: subject, from: '2026-01-01T00:00:00.000Z' },
    });
    expect(opened.status).toBe(201);
    return { meterId, subject, occupancyId: opened.body.occupancyId };
  };
  const retentionKey = (occupancyId: string) =>
    h.db
      .selectFrom('data_keys')
      .selectAll()
      .where('occupancy_id', '=', occupancyId)
      .where('purpose', '=', 'billing')
      .executeTakeFirst();
  const erase = async (subject: string, retain: unknown[]) => {
    const answer = await h.request<{ erasureId: string }>('POST', `/v1/subjects/${subject}/erasures`, {
      key: admin,
      json: { retain },
    });
    return answer;
  };
  const keyFromVault = (keyId: string) =>
    h.internal<{ keyId: string; key: string }>(`/internal/v1/tenants/${tenantId}/data-keys/${keyId}`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'retention-it-'));
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    publicKey = pair.publicKey;
    const keyFile = join(dir, 'certificate-key.pem');
    await writeFile(keyFile, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    enrollment = await EnrollmentProcess.start('privacy');
    ({ tenantId, adminKey: admin } = await enrollment.tenant('pvretain'));
    [operator, auditor] = await Promise.all([
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'auditor'),
    ]);
    ({ adminKey: otherAdmin } = await enrollment.tenant('pvretainx'));
    h = await PrivacyHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      dataKeyGrants: { 'telemetry-ingest': [tenantId] },
      // The job on its own timer, every second; keys are made due by moving their date.
      env: { PRIVACY_CERTIFICATE_KEY_FILE: keyFile, PRIVACY_RETENTION_CHECK_INTERVAL_S: '1' },
    });
  });
  afterAll(async () => {
    await h?.stop();
    await enrollment?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lets an admin set a period per purpose; every role reads it, another tenant does not see it', async () => {
    const body = { retainDays: 2_190, legalBasis: 'GDPR Art. 17(3)(b): billing records', reference: 'DPO-1' };
    const set = await schedule('billing', admin, body);
    expect(set.status, set.text).toBe(200);
    expect(set.body).toMatchObject({ purpose: 'billing', ...body, updatedAt: expect.any(String) });
    expect((await schedule('billing', auditor)).body).toMatchObject(body);
    const list = await h.request<{ items: RetentionScheduleView[] }>('GET', '/v1/retention-schedules', {
      key: auditor,
    });
    expect(list.body.items.map((s) => s.purpose)).toEqual(['billing']);

    expect((await schedule('billing', operator, body)).status).toBe(403);
    expect((await schedule('billing', admin, { ...body, retainDays: 0 })).status).toBe(400);
    expect((await schedule('billing', admin, { ...body, retainDays: 36_501 })).status).toBe(400);
    expect((await schedule('Not A Purpose', admin, body)).status).toBe(400);
    const elsewhere = await schedule('billing', otherAdmin);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body).toMatchObject({ code: 'RETENTION_SCHEDULE_NOT_FOUND' });

    const audited = await sql<{ record: AuditEvent }>`select record from audit_records
      where tenant_id = ${tenantId} order by sequence`.execute(h.db);
    expect(audited.rows.map((r) => r.record.action)).toContain('privacy.retention-schedule-set');
  });

  it('an erasure takes the date and basis from the schedule; without one it is refused (422)', async () => {
    const unscheduled = await open(1);
    const refused = await erase(unscheduled.subject, [{ purpose: 'settlement', granularity: 'daily' }]);
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'RETENTION_SCHEDULE_MISSING' });
  });

  it('the job destroys a key past its date (a reading under it no longer opens), keeps one not due, certifies the batch', async () => {
    // Billing's schedule is set to 1 day; one erasure takes it, the other names its own date.
    expect(
      (await schedule('billing', admin, { retainDays: 1, legalBasis: 'tenant basis', reference: 'R-1' }))
        .status,
    ).toBe(200);
    const [due, kept] = [await open(2), await open(3)];
    const requestedAt = Date.now();
    expect((await erase(due.subject, [{ purpose: 'billing', granularity: 'monthly' }])).status).toBe(202);
    const keptUntil = new Date(Date.now() + 30 * DAY).toISOString();
    const keptRetention = {
      purpose: 'billing',
      granularity: 'monthly',
      legalBasis: 'b',
      reference: 'r',
      retainUntil: keptUntil,
    };
    expect((await erase(kept.subject, [keptRetention])).status).toBe(202);
    // A repeat that leaves the date to the schedule answers the same erasure.
    const again = await erase(due.subject, [{ purpose: 'billing', granularity: 'monthly' }]);
    expect(again.status).toBe(202);

    await waitUntil(
      async () =>
        (await retentionKey(due.occupancyId)) !== undefined &&
        (await retentionKey(kept.occupancyId)) !== undefined,
      {
        description: 'retention keys made by both erasures',
      },
    );
    const dueKey = (await retentionKey(due.occupancyId))!;
    const keptKey = (await retentionKey(kept.occupancyId))!;
    const expected = requestedAt + DAY;
    expect(Math.abs(dueKey.retain_until!.getTime() - expected)).toBeLessThan(60_000);
    expect(keptKey.retain_until!.toISOString()).toBe(keptUntil);

    // Something sealed under the retention key opens while it lives.
    const material = await keyFromVault(dueKey.key_id);
    expect(material.status).toBe(200);
    const context = { eventId: randomUUID(), tenantId, meterId: due.meterId };
    const sealed = sealReadings(
      {
        batchId: `b-${randomUUID()}`,
        readings: [
          {
            obis: '1-0:1.8.0*255',
            intervalStart: '2026-01-31T23:30:00.000Z',
            intervalMinutes: 30,
            value: 4242,
            scaler: 0,
            unit: 'Wh',
          },
        ],
        events: [],
      },
      { keyId: dueKey.key_id, key: Buffer.from(material.body.key, 'base64') },
      context,
    );
    expect(
      openReadings({ ...context, ...sealed }, Buffer.from(material.body.key, 'base64')).readings[0]!.value,
    ).toBe(4242);

    // Its date passes; the job's next round destroys it.
    await sql`update data_keys set retain_until = now() - interval '1 second' where key_id = ${dueKey.key_id}`.execute(
      h.db,
    );
    await waitUntil(async () => (await retentionKey(due.occupancyId))!.destroyed_at !== null, {
      description: 'the due retention key destroyed by the job',
      timeoutMs: 15_000,
    });
    const gone = await keyFromVault(dueKey.key_id);
    expect(gone.status).toBe(410);
    expect(gone.body).toMatchObject({ code: 'KEY_DESTROYED' });
    expect((await retentionKey(due.occupancyId))!.wrapped_key).toBeNull();
    expect((await retentionKey(kept.occupancyId))!.destroyed_at).toBeNull();
    expect((await keyFromVault(keptKey.key_id)).status).toBe(200);

    // The batch's certificate: signed by the certificate key, naming the key destroyed, not the one kept.
    const rows = await h.db
      .selectFrom('retention_certificates')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .execute();
    expect(rows).toHaveLength(1);
    const certificate = retentionCertificateSchema.parse(rows[0]!.document);
    expect(certificate.keysDestroyed.map((k) => k.keyId)).toEqual([dueKey.key_id]);
    expect(certificate.keysDestroyed[0]).toMatchObject({
      kind: 'retention',
      purpose: 'billing',
      wrappedKeyCommitment: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
    const { signature, ...unsigned } = certificate;
    expect(verifyEs256(publicKey, canonicalBytes(unsigned), Buffer.from(signature!.value, 'base64url'))).toBe(
      true,
    );
    expect(certificate.audit.records.map((r) => [r.action, r.subject])).toEqual([
      ['privacy.data-key-destroyed', dueKey.key_id],
    ]);

    // On the chain: the destruction and the certificate's issuance, and the chain still verifies.
    const chain = await h.request<AuditChainVerification>('GET', '/v1/audit/verify', { key: auditor });
    expect(chain.body).toMatchObject({ intact: true });
    const issued = await sql<{ record: AuditEvent }>`select record from audit_records
      where tenant_id = ${tenantId} and record->>'action' = 'privacy.retention-expiry-certified'`.execute(
      h.db,
    );
    expect(issued.rows.map((r) => r.record.subject)).toEqual([certificate.certificateId]);
    expect(issued.rows[0]!.record.detail).toMatchObject({ digest: rows[0]!.digest, keys: 1 });
  });

  it('replicas running the job at once destroy each due key once (SKIP LOCKED batches)', async () => {
    const subjects = await Promise.all([4, 5, 6, 7].map((n) => open(n)));
    const until = new Date(Date.now() + 10 * DAY).toISOString();
    for (const s of subjects)
      expect(
        (
          await erase(s.subject, [
            {
              purpose: 'billing',
              granularity: 'monthly',
              legalBasis: 'b',
              reference: 'r',
              retainUntil: until,
            },
          ])
        ).status,
      ).toBe(202);
    await waitUntil(
      async () => (await Promise.all(subjects.map((s) => retentionKey(s.occupancyId)))).every(Boolean),
      {
        description: 'four retention keys',
      },
    );
    const ids = (await Promise.all(subjects.map((s) => retentionKey(s.occupancyId)))).map((k) => k!.key_id);
    const expiry = h.service.app.get(RetentionExpiry);
    const later = new Date(Date.now() + 11 * DAY);
    const results = await Promise.all([
      expiry.destroyDue(later),
      expiry.destroyDue(later),
      expiry.destroyDue(later),
    ]);
    const all = results.flat();
    for (const id of ids) expect(all.filter((x) => x === id)).toHaveLength(1);
    const certified = (
      await h.db
        .selectFrom('retention_certificates')
        .select('document')
        .where('tenant_id', '=', tenantId)
        .execute()
    ).flatMap((row) => retentionCertificateSchema.parse(row.document).keysDestroyed.map((k) => k.keyId));
    for (const id of ids) expect(certified.filter((x) => x === id)).toHaveLength(1);
    expect(
      (await h.request<AuditChainVerification>('GET', '/v1/audit/verify', { key: auditor })).body,
    ).toMatchObject({ intact: true });
  });

  it("destroys an occupancy's readings key once the tenant's readings retention after its end ran out, with its release keys and staged readings", async () => {
    expect(
      (await schedule('readings', admin, { retainDays: 30, legalBasis: 'tenant basis', reference: 'R-2' }))
        .status,
    ).toBe(200);
    const [expired, recent, current] = [await open(8), await open(9), await open(10)];
    const closeAgo = (occupancyId: string, days: number) =>
      sql`update occupancies set valid_to = now() - make_interval(days => ${days})
        where occupancy_id = ${occupancyId}`.execute(h.db);
    await closeAgo(expired.occupancyId, 31);
    await closeAgo(recent.occupancyId, 29);
    const occupancy = (occupancyId: string) =>
      h.db
        .selectFrom('occupancies')
        .selectAll()
        .where('occupancy_id', '=', occupancyId)
        .executeTakeFirstOrThrow();
    // What the gate leaves behind: a release key and a staged reading (a value in the clear).
    for (const o of [expired, recent]) {
      await h.db
        .insertInto('release_keys')
        .values({
          key_id: `rk-${randomUUID()}`,
          tenant_id: tenantId,
          meter_id: o.meterId,
          occupancy_id: o.occupancyId,
          recipient: 'third-party:coach',
          purpose: 'third-party',
          wrapped_key: randomBytes(60),
          kek_epoch: 0,
        })
        .execute();
      await h.db
        .insertInto('release_readings')
        .values({
          tenant_id: tenantId,
          occupancy_id: o.occupancyId,
          obis: '1-0:1.8.0*255',
          unit: 'Wh',
          interval_start: new Date('2026-02-01T00:00:00.000Z'),
          interval_minutes: 30,
          quantity: 7,
        })
        .execute();
    }
    const readingsKey = async (o: { occupancyId: string }) =>
      h.db
        .selectFrom('data_keys')
        .selectAll()
        .where('key_id', '=', (await occupancy(o.occupancyId)).key_id)
        .executeTakeFirstOrThrow();
    const releaseKeys = (o: { occupancyId: string }) =>
      h.db.selectFrom('release_keys').selectAll().where('occupancy_id', '=', o.occupancyId).execute();
    const staged = (o: { occupancyId: string }) =>
      h.db.selectFrom('release_readings').selectAll().where('occupancy_id', '=', o.occupancyId).execute();

    // The job on its timer.
    await waitUntil(async () => (await readingsKey(expired)).destroyed_at !== null, {
      description: 'the readings key of the occupancy closed 31 days ago destroyed by the job',
      timeoutMs: 15_000,
    });
    const gone = await readingsKey(expired);
    expect((await keyFromVault(gone.key_id)).status).toBe(410);
    expect((await releaseKeys(expired)).map((k) => [k.destroyed_at !== null, k.wrapped_key])).toEqual([
      [true, null],
    ]);
    expect(await staged(expired)).toEqual([]);
    // Closed 29 days ago, or still open: kept whole.
    for (const o of [recent, current]) expect((await readingsKey(o)).destroyed_at).toBeNull();
    expect((await releaseKeys(recent))[0]!.destroyed_at).toBeNull();
    expect(await staged(recent)).toHaveLength(1);

    const certificates = (
      await h.db
        .selectFrom('retention_certificates')
        .select('document')
        .where('tenant_id', '=', tenantId)
        .execute()
    ).map((row) => retentionCertificateSchema.parse(row.document));
    const certificate = certificates.find((c) => c.keysDestroyed.some((k) => k.keyId === gone.key_id))!;
    const retainUntil = new Date((await occupancy(expired.occupancyId)).valid_to!.getTime() + 30 * DAY);
    expect(certificate.keysDestroyed.map((k) => [k.kind, k.purpose, k.retainUntil])).toEqual([
      ['release', 'third-party', retainUntil.toISOString()],
      ['readings', 'readings', retainUntil.toISOString()],
    ]);
    expect(certificate.signature).toBeDefined();
    expect(
      (await h.request<AuditChainVerification>('GET', '/v1/audit/verify', { key: auditor })).body,
    ).toMatchObject({ intact: true });
  });
});
