// Erasure sagas on the real stack (spec privacy.md §4.5–§4.7): REST, keys destroyed, the fan-out on
// privacy.erasure-requests.v1 answered on privacy.confirmations.v1, the signed certificate, and the
// verifier CLI re-checking it against the vault and raw Kafka.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PRIVACY_CONFIRMATIONS,
  PRIVACY_ERASURE_REQUESTS,
  PRIVACY_ERASURES,
  TELEMETRY_READINGS,
  TELEMETRY_RELEASED,
  type PrivacyConfirmationEvent,
} from '@meterkeep/contracts';
import { EventProducer } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import { principalEnv, serviceStackEnv } from '@meterkeep/testing';
import { sealReadings, sealRelease } from '@meterkeep/reading-seal';
import { canonicalize } from '@meterkeep/firmware';
import {
  type SignedErasureCertificate,
  checkAuditSegment,
  checkCertificateSignature,
  signCertificate,
} from '../src/erasures/erasure-certificate';
import { RetentionExpiry } from '../src/retention/retention-expiry';
import { runVerifyErasure } from '../src/erasures/verify-erasure-cli';
import { EnrollmentProcess, PrivacyHarness, TopicTap, testKafka, waitUntil } from './privacy-test-kit';

interface ErasureView {
  erasureId: string;
  state: string;
  failedIn: string | null;
  lastError: string | null;
  partiallyRetained: boolean;
  occupancyIds: string[];
  confirmations: { service: string; instance: string; outcome: string }[];
  certificateId: string | null;
}
interface MeterKeys {
  occupancies: { occupancyId: string; keyId: string; key?: string; destroyed: boolean }[];
  meterKey: { keyId: string; key: string };
}

const DAY = 24 * 3600 * 1000;

describe('privacy: erasure saga, certificate and verifier', () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let otherAdmin: string;
  let dir: string;
  let keyFile: string;
  let publicKeyFile: string;
  let producer: EventProducer;
  let requests: TopicTap;
  let erasuresTap: TopicTap;
  /** Answers every fan-out as an ingest replica would, while on (the ingest's own test covers its code). */
  let ingestAnswers = true;
  let ingestTap: ReturnType<typeof setInterval> | undefined;
  const answered = new Set<string>();
  const runId = randomBytes(4).toString('hex');
  let meters = 0;
  const newMeter = () => `MTR-ER-${runId}-${++meters}`;
  const logger = createLogger({ service: 'erasure-it', level: 'error' });

  const env = () => ({
    PRIVACY_KEK_CHECK_INTERVAL_S: '0',
    PRIVACY_RETENTION_CHECK_INTERVAL_S: '0',
    PRIVACY_CERTIFICATE_KEY_FILE: keyFile,
    // The real enrollment this suite runs answers for itself (not-applicable); ingest is stood in for.
    PRIVACY_ERASURE_CONFIRMERS: 'privacy,telemetry-ingest,enrollment',
    PRIVACY_ERASURE_RETRY_MS: '300',
  });

  const open = async (meterId: string, subjectRef: string, from: string) => {
    const opened = await h.request<{ occupancyId: string; keyId: string }>('POST', '/v1/occupancies', {
      key: operator,
      json: { meterId, subjectRef, from },
    });
    expect(opened.status).toBe(201);
    return opened.body;
  };
  const close = async (occupancyId: string, to: string) =>
    expect(
      (await h.request('POST', `/v1/occupancies/${occupancyId}/close`, { key: operator, json: { to } }))
        .status,
    ).toBe(200);
  const meterKeys = async (meterId: string) =>
    (await h.internal<MeterKeys>(`/internal/v1/tenants/${tenantId}/meters/${meterId}/data-keys`)).body;

  /** A sealed record as the ingest writes it: readings at `times`, under the key given. */
  const publishReadings = async (meterId: string, keyId: string, keyB64: string, times: string[]) => {
    const eventId = randomUUID();
    const envelope = sealReadings(
      {
        batchId: `b-${randomUUID()}`,
        readings: times.map((t, i) => ({
          obis: '1-0:1.8.0*255',
          intervalStart: t,
          intervalMinutes: 30,
          value: 1000 + i,
          scaler: 0,
          unit: 'Wh',
        })),
        events: [],
      },
      { keyId, key: Buffer.from(keyB64, 'base64') },
      { eventId, tenantId, meterId },
    );
    await producer.publishMany(TELEMETRY_READINGS, [
      { eventId, tenantId, occurredAt: new Date().toISOString(), meterId, ...envelope },
    ]);
  };

  const post = (subjectRef: string, json: unknown = {}, key = admin) =>
    h.request<ErasureView>('POST', `/v1/subjects/${subjectRef}/erasures`, { key, json });
  const get = (subjectRef: string, id: string) =>
    h.request<ErasureView>('GET', `/v1/subjects/${subjectRef}/erasures/${id}`, { key: admin });
  const until = (subjectRef: string, id: string, state: string, timeoutMs = 30_000) =>
    waitUntil(
      async () => {
        const view = (await get(subjectRef, id)).body;
        return view.state === state ? view : undefined;
      },
      { timeoutMs, description: `erasure ${id} ${state}` },
    );
  const certificateOf = async (subjectRef: string, id: string) => {
    const response = await h.request<SignedErasureCertificate>(
      'GET',
      `/v1/subjects/${subjectRef}/erasures/${id}/certificate`,
      { key: admin },
    );
    expect(response.status).toBe(200);
    return response.body;
  };
  const confirm = (requestId: string, outcome: PrivacyConfirmationEvent['outcome'], instance: string) =>
    producer.publishMany(PRIVACY_CONFIRMATIONS, [
      {
        eventId: randomUUID(),
        tenantId,
        occurredAt: new Date().toISOString(),
        requestId,
        service: 'telemetry-ingest',
        instance,
        outcome,
        detail: outcome === 'failed' ? 'cache purge failed (test)' : 'key cache purged (test)',
      },
    ]);
  const verify = async (certificate: unknown) => {
    const file = join(dir, `cert-${randomUUID()}.json`);
    await writeFile(file, JSON.stringify(certificate));
    return runVerifier([file, '--public-key', publicKeyFile]);
  };
  /** The verifier fetching the certificate from the real service, with the API key given. */
  const verifyFetched = (subjectRef: string, erasureId: string, apiKey: string) =>
    runVerifier(['--erasure-id', erasureId, '--subject', subjectRef, '--public-key', publicKeyFile], {
      METERKEEP_PRIVACY_URL: h.url,
      METERKEEP_API_KEY: apiKey,
    });
  const runVerifier = async (argv: string[], extraEnv: Record<string, string> = {}) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runVerifyErasure(argv, {
      env: {
        ...serviceStackEnv('privacy'),
        ...principalEnv('admin'),
        PRIVACY_KEK: h.config.PRIVACY_KEK.toString('base64'),
        ...extraEnv,
      },
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      schema: h.schema,
    });
    return {
      code,
      report: out.length
        ? (JSON.parse(out.join('\n')) as {
            ok: boolean;
            checks: { name: string; ok: boolean; detail: string }[];
          })
        : undefined,
      err,
    };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'erasure-it-'));
    // The certificate key: generated by the test, never committed.
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    keyFile = join(dir, 'certificate-key.pem');
    publicKeyFile = join(dir, 'certificate-key.pub.pem');
    await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await writeFile(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
    enrollment = await EnrollmentProcess.start('privacy');
    ({ tenantId, adminKey: admin } = await enrollment.tenant('pverase'));
    operator = await enrollment.key(tenantId, 'operator');
    ({ adminKey: otherAdmin } = await enrollment.tenant('pverasx'));
    h = await PrivacyHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      dataKeyGrants: { 'telemetry-ingest': [tenantId] },
      env: env(),
    });
    producer = new EventProducer({
      kafka: testKafka(),
      logger,
      contracts: [TELEMETRY_READINGS, TELEMETRY_RELEASED, PRIVACY_CONFIRMATIONS],
    });
    await producer.connect();
    requests = await TopicTap.open(testKafka(), PRIVACY_ERASURE_REQUESTS);
    erasuresTap = await TopicTap.open(testKafka(), PRIVACY_ERASURES);
    // A stand-in ingest replica: confirms each fan-out it sees while answering.
    ingestTap = setInterval(() => {
      if (!ingestAnswers) return;
      for (const record of requests.records) {
        const id = `${record.json.requestId as string}#${record.json.attempt as number}`;
        if (answered.has(id) || record.json.tenantId !== tenantId) continue;
        answered.add(id);
        void confirm(record.json.requestId as string, 'completed', 'ingest-it-1');
      }
    }, 100);
  });
  afterAll(async () => {
    if (ingestTap) clearInterval(ingestTap);
    await requests?.close();
    await erasuresTap?.close();
    await producer?.disconnect();
    await h?.stop();
    await enrollment?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('erasure.saga-certifies: keys destroyed at once, every service confirms, a signed certificate counts the raw records', async () => {
    const meterId = newMeter();
    const subject = `subj-${runId}-a`;
    const a1 = await open(meterId, subject, '2026-01-01T00:00:00Z');
    await close(a1.occupancyId, '2026-02-01T00:00:00Z');
    const neighbour = await open(meterId, `subj-${runId}-n`, '2026-02-01T00:00:00Z');
    await close(neighbour.occupancyId, '2026-03-01T00:00:00Z');
    const a2 = await open(meterId, subject, '2026-03-01T00:00:00Z');
    const keys = await meterKeys(meterId);
    const keyOf = (id: string) => keys.occupancies.find((o) => o.occupancyId === id)!.key!;
    await publishReadings(meterId, a1.keyId, keyOf(a1.occupancyId), [
      '2026-01-10T00:00:00Z',
      '2026-01-10T00:30:00Z',
    ]);
    await publishReadings(meterId, a1.keyId, keyOf(a1.occupancyId), ['2026-01-11T00:00:00Z']);
    await publishReadings(meterId, neighbour.keyId, keyOf(neighbour.occupancyId), ['2026-02-10T00:00:00Z']);
    await publishReadings(meterId, a2.keyId, keyOf(a2.occupancyId), ['2026-03-10T00:00:00Z']);
    await publishReadings(meterId, keys.meterKey.keyId, keys.meterKey.key, ['2025-12-31T00:00:00Z']);

    const retainUntil = new Date(Date.now() + 400 * DAY).toISOString();
    const retain = [
      {
        purpose: 'billing',
        granularity: 'monthly',
        legalBasis: 'GDPR Art. 17(3)(b): statutory billing records (tenant-stated)',
        reference: 'dpo-register-7',
        retainUntil,
      },
    ];
    const requested = await post(subject, { retain });
    expect(requested.status).toBe(202);
    expect(requested.body.occupancyIds.sort()).toEqual([a1.occupancyId, a2.occupancyId].sort());
    expect(requested.body.partiallyRetained).toBe(true);
    const id = requested.body.erasureId;

    const done = await until(subject, id, 'CERTIFIED');
    expect(done.confirmations.map((c) => c.service).sort()).toEqual([
      'enrollment',
      'privacy',
      'telemetry-ingest',
    ]);
    expect(done.confirmations.find((c) => c.service === 'enrollment')?.outcome).toBe('not-applicable');
    expect(done.certificateId).toMatch(/^ec-/);
    // The subject's keys are gone; the neighbour's and the meter's are not.
    const after = await meterKeys(meterId);
    expect(
      after.occupancies
        .filter((o) => o.destroyed)
        .map((o) => o.keyId)
        .sort(),
    ).toEqual([a1.keyId, a2.keyId].sort());
    expect(after.meterKey.keyId).toBe(keys.meterKey.keyId);

    const certificate = await certificateOf(subject, id);
    expect(certificate).toMatchObject({
      certificateVersion: 1,
      tenantId,
      requestId: id,
      subjectRef: subject,
      signature: { alg: 'ES256' },
      verification: { recordsChecked: 3, decryptFailures: 3, vaultAnswer: 'KEY_DESTROYED' },
    });
    expect(certificate.keysDestroyed.map((k) => k.keyId).sort()).toEqual([a1.keyId, a2.keyId].sort());
    for (const key of certificate.keysDestroyed)
      expect(key.wrappedKeyCommitment).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(certificate.dataInventory.kafka).toEqual([
      expect.objectContaining({
        topic: 'telemetry.readings.v1',
        meterId,
        records: 5,
        recordsUnderDestroyedKeys: 3,
      }),
    ]);
    expect(certificate.retainedUnderException).toHaveLength(2);
    expect(certificate.retainedUnderException[0]).toMatchObject({ purpose: 'billing', retainUntil });
    // Residual copies stated: backups until the KEK epoch goes, and the ingest's key cache TTL.
    expect(certificate.residualCopies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ what: 'wrapped data keys', kekEpoch: expect.any(Number) }),
        expect.objectContaining({ what: 'plain data key', maxLifetimeSeconds: 60 }),
      ]),
    );
    expect(certificate.audit.records.map((r) => r.action)).toEqual([
      'privacy.erasure-requested',
      'privacy.erasure-scoped',
      'privacy.data-key-destroyed',
      'privacy.data-key-destroyed',
      'privacy.erasure-keys-destroyed',
      'privacy.erasure-purge-requested',
      'privacy.erasure-purged',
    ]);
    // No personal data beyond the subject reference: the canonical form names it once.
    expect(canonicalize(certificate).split(subject).length - 1).toBe(1);

    // Announced with its digest only.
    const [announced] = await erasuresTap.waitFor((r) => r.json.requestId === id, 1, 'privacy.erasures.v1');
    expect(Object.keys(announced!.json).sort()).toEqual(
      ['certificateId', 'digest', 'eventId', 'issuedAt', 'occurredAt', 'requestId', 'tenantId'].sort(),
    );
    // The fan-out carried ids only, never the subject.
    const fanout = requests.records.find((r) => r.json.requestId === id)!;
    expect(fanout.value).not.toContain(subject);
    expect(fanout.json).toMatchObject({ meterIds: [meterId], attempt: 1 });

    // Idempotent: the same request answers the first erasure and its certificate.
    const again = await post(subject, { retain });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({
      erasureId: id,
      state: 'CERTIFIED',
      certificateId: certificate.certificateId,
    });

    // The verifier: signature, chain segment, vault, raw Kafka.
    const verified = await verify(certificate);
    expect(verified.err).toEqual([]);
    expect(verified.report?.checks.filter((c) => !c.ok)).toEqual([]);
    expect(verified.report?.checks.map((c) => [c.name, c.ok])).toEqual([
      ['signature', true],
      ['audit-chain-segment', true],
      ['vault', true],
      ['kafka', true],
    ]);
    expect(verified.code).toBe(0);

    // Fetched by erasure id from the service, as an auditor: the same checks, and the same verdict.
    const auditor = await enrollment.key(tenantId, 'auditor');
    const fetched = await verifyFetched(subject, id, auditor);
    expect(fetched.err).toEqual([]);
    expect(fetched.report?.checks.map((c) => [c.name, c.ok])).toEqual([
      ['signature', true],
      ['erasure', true],
      ['audit-chain-segment', true],
      ['vault', true],
      ['kafka', true],
    ]);
    expect(fetched.code).toBe(0);
    // Refused, in one line naming the service's code: an unknown erasure id, another tenant's key (its
    // erasure answers the same), another subject's route, and a key the service does not know.
    const refusals: [string, string, string, string][] = [
      [subject, `er-${randomUUID()}`, auditor, '404 ERASURE_NOT_FOUND'],
      [subject, id, otherAdmin, '404 ERASURE_NOT_FOUND'],
      [`subj-${runId}-n`, id, auditor, '404 ERASURE_NOT_FOUND'],
      [
        subject,
        id,
        `mk_${randomBytes(6).toString('hex')}_${randomBytes(24).toString('hex')}`,
        '401 UNAUTHENTICATED',
      ],
    ];
    for (const [subjectRef, erasureId, apiKey, said] of refusals) {
      const refused = await verifyFetched(subjectRef, erasureId, apiKey);
      expect(refused.code).toBe(1);
      expect(refused.report).toBeUndefined();
      expect(refused.err.join('\n')).toContain(`privacy refused the certificate of erasure ${erasureId}`);
      expect(refused.err.join('\n')).toContain(said);
      expect(refused.err.join('\n')).not.toContain(apiKey.slice(-20));
    }

    // A flipped byte anywhere in the certificate fails its signature.
    const flipped = structuredClone(certificate);
    flipped.verification.recordsChecked += 1;
    const badSignature = await verify(flipped);
    expect(badSignature.code).toBe(1);
    expect(badSignature.report?.checks.find((c) => c.name === 'signature')).toMatchObject({ ok: false });

    // A flipped byte in the chain fails the segment even when signed again (by the right key).
    const chain = structuredClone(certificate);
    const record = chain.audit.records[2]!;
    chain.audit.records[2] = { ...record, actor: `${record.actor}x` };
    const { signature: _signature, ...unsigned } = chain;
    const resigned = signCertificate(unsigned, createPrivateKey(await readFile(keyFile)));
    expect(checkCertificateSignature(resigned, createPublicKey(await readFile(publicKeyFile)))).toEqual({
      ok: true,
    });
    const badChain = await verify(resigned);
    expect(badChain.code).toBe(1);
    expect(badChain.report?.checks.find((c) => c.name === 'signature')).toMatchObject({ ok: true });
    expect(badChain.report?.checks.find((c) => c.name === 'audit-chain-segment')).toMatchObject({
      ok: false,
    });
    expect(checkAuditSegment(certificate)).toEqual({ ok: true });

    // A live key fails it: a record of the erased period sealed under the meter's live key.
    await publishReadings(meterId, keys.meterKey.keyId, keys.meterKey.key, ['2026-01-20T00:00:00Z']);
    const live = await verify(certificate);
    expect(live.code).toBe(1);
    expect(live.report?.checks.find((c) => c.name === 'kafka')).toMatchObject({
      ok: false,
      detail: expect.stringContaining(`under the live key ${keys.meterKey.keyId}`),
    });

    // So does a value the release gate let out of an erased occupancy under a key not destroyed with it.
    const labels = {
      eventId: randomUUID(),
      tenantId,
      occupancyId: a1.occupancyId,
      meterId,
      recipient: 'supplier',
      purpose: 'billing',
      granularity: 'monthly' as const,
      windowStart: '2026-01-01T00:00:00.000Z',
      windowEnd: '2026-02-01T00:00:00.000Z',
    };
    const liveReleaseKey = { keyId: `rk-${randomUUID()}`, key: randomBytes(32) };
    await producer.publish(TELEMETRY_RELEASED, {
      ...labels,
      occurredAt: new Date().toISOString(),
      ...sealRelease({ totals: [] }, liveReleaseKey, labels),
    });
    const releasedLive = await verify(certificate);
    expect(releasedLive.code).toBe(1);
    expect(releasedLive.report?.checks.find((c) => c.name === 'kafka')).toMatchObject({
      ok: false,
      detail: expect.stringContaining(
        `a released value of ${a1.occupancyId} under the live key ${liveReleaseKey.keyId}`,
      ),
    });
  });

  it('erasure.confirmations-never-assumed: a missing confirmation is asked again with backoff; a failed one fails the saga, and a retry resumes', async () => {
    ingestAnswers = false;
    const meterId = newMeter();
    const subject = `subj-${runId}-b`;
    await open(meterId, subject, '2026-01-01T00:00:00Z');
    const id = (await post(subject)).body.erasureId;
    await until(subject, id, 'CONFIRMING');
    // Asked again, never certified without the ingest.
    await requests.waitFor(
      (r) => r.json.requestId === id && (r.json.attempt as number) >= 3,
      1,
      'retries',
      20_000,
    );
    expect((await get(subject, id)).body.state).toBe('CONFIRMING');
    const early = await h.request('GET', `/v1/subjects/${subject}/erasures/${id}/certificate`, {
      key: admin,
    });
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ code: 'CERTIFICATE_NOT_READY' });
    const notFailed = await h.request('POST', `/v1/subjects/${subject}/erasures/${id}/retry`, { key: admin });
    expect(notFailed.status).toBe(409);
    expect(notFailed.body).toMatchObject({ code: 'ERASURE_NOT_FAILED' });

    await confirm(id, 'failed', 'ingest-it-2');
    const failed = await until(subject, id, 'FAILED');
    expect(failed).toMatchObject({
      failedIn: 'CONFIRMING',
      lastError: expect.stringContaining('telemetry-ingest'),
    });

    ingestAnswers = true;
    const retried = await h.request<ErasureView>('POST', `/v1/subjects/${subject}/erasures/${id}/retry`, {
      key: admin,
    });
    expect(retried.status).toBe(202);
    const done = await until(subject, id, 'CERTIFIED');
    expect(done.confirmations.every((c) => c.outcome !== 'failed')).toBe(true);
  });

  it('erasure.resumes-after-restart: a saga left waiting is picked up by the next process', async () => {
    ingestAnswers = false;
    const meterId = newMeter();
    const subject = `subj-${runId}-c`;
    await open(meterId, subject, '2026-01-01T00:00:00Z');
    const id = (await post(subject)).body.erasureId;
    await until(subject, id, 'CONFIRMING');
    const schema = h.schema;
    const kek = h.config.PRIVACY_KEK.toString('base64');
    await h.stop({ keepSchema: true });
    h = await PrivacyHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      dataKeyGrants: { 'telemetry-ingest': [tenantId] },
      env: { ...env(), PRIVACY_KEK: kek },
      schema,
    });
    ingestAnswers = true;
    await until(subject, id, 'CERTIFIED');
  });

  it('erasure.retention-keys: kept until their date, then destroyed automatically', async () => {
    const meterId = newMeter();
    const subject = `subj-${runId}-d`;
    const occupancy = await open(meterId, subject, '2026-01-01T00:00:00Z');
    const retainUntil = new Date(Date.now() + 30 * DAY);
    const id = (
      await post(subject, {
        retain: [
          {
            purpose: 'settlement',
            granularity: 'half-hourly',
            legalBasis: 'settlement obligation (tenant-stated)',
            reference: 'ref-1',
            retainUntil: retainUntil.toISOString(),
          },
        ],
      })
    ).body.erasureId;
    await until(subject, id, 'CERTIFIED');
    const retention = await h.db
      .selectFrom('data_keys')
      .selectAll()
      .where('occupancy_id', '=', occupancy.occupancyId)
      .where('purpose', '=', 'settlement')
      .executeTakeFirstOrThrow();
    expect(retention.destroyed_at).toBeNull();
    const expiry = h.service.app.get(RetentionExpiry);
    expect(await expiry.destroyDue(new Date(retainUntil.getTime() - 1_000))).not.toContain(retention.key_id);
    expect(await expiry.destroyDue(new Date(retainUntil.getTime() + 1_000))).toContain(retention.key_id);
    const gone = await h.db
      .selectFrom('data_keys')
      .selectAll()
      .where('key_id', '=', retention.key_id)
      .executeTakeFirstOrThrow();
    expect(gone.wrapped_key).toBeNull();
    expect(gone.wrapped_key_sha256).not.toBeNull();
  });

  it('refuses: unknown subject, a retention in the past, an operator, another tenant, a malformed id', async () => {
    const meterId = newMeter();
    const subject = `subj-${runId}-e`;
    await open(meterId, subject, '2026-01-01T00:00:00Z');
    const unknown = await post(`nobody-${runId}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'SUBJECT_NOT_FOUND' });
    const past = await post(subject, {
      retain: [
        {
          purpose: 'billing',
          granularity: 'monthly',
          legalBasis: 'x',
          reference: 'y',
          retainUntil: '2020-01-01T00:00:00Z',
        },
      ],
    });
    expect(past.status).toBe(400);
    expect(past.body).toMatchObject({ code: 'RETENTION_IN_PAST' });
    const twice = await post(subject, {
      retain: [1, 2].map(() => ({
        purpose: 'billing',
        granularity: 'monthly',
        legalBasis: 'x',
        reference: 'y',
        retainUntil: '2099-01-01T00:00:00Z',
      })),
    });
    expect(twice.status).toBe(400);
    expect((await post(subject, {}, operator)).status).toBe(403);
    // Another tenant cannot see the subject, nor an erasure of this tenant.
    const foreign = await post(subject, {}, otherAdmin);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toMatchObject({ code: 'SUBJECT_NOT_FOUND' });
    const mine = (await post(subject)).body.erasureId;
    const theirs = await h.request('GET', `/v1/subjects/${subject}/erasures/${mine}`, { key: otherAdmin });
    expect(theirs.status).toBe(404);
    expect(theirs.body).toMatchObject({ code: 'ERASURE_NOT_FOUND' });
    // Another subject's path does not reach it either.
    const wrongSubject = await h.request('GET', `/v1/subjects/other-${runId}/erasures/${mine}`, {
      key: admin,
    });
    expect(wrongSubject.status).toBe(404);
    expect(
      (await h.request('GET', `/v1/subjects/${subject}/erasures/not-an-id`, { key: admin })).status,
    ).toBe(400);
    await until(subject, mine, 'CERTIFIED');
  });
});
