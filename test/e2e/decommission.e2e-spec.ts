import { createHash, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEVICE_LIFECYCLE,
  ENROLLMENT_DEVICES,
  type FirmwareDeploymentView,
  type FirmwareExecutionView,
  type FirmwareImageUpload,
  type FirmwareManifestView,
  TELEMETRY_READINGS,
  validateEvent,
} from '@meterkeep/contracts';
import { type FirmwareManifest, checkDocumentSignature, signManifest } from '@meterkeep/firmware';
import { createCsr, generateKeyPair, parseCertificate, parseCrl } from '@meterkeep/pki';
import { openReadings } from '@meterkeep/reading-seal';
import {
  type ActiveFleet,
  type Api,
  type Platform,
  WaitAborted,
  activeFleet,
  deviceClient,
  operatorApi,
  principalEnv,
  runBuiltCli,
  serviceStackEnv,
  startGroupAtEnd,
  startPlatform,
  waitUntil,
} from '@meterkeep/testing';
import { dataKey, dataKeyGrants, dayOfReadings, kafkaClient, recordsOf, utcDay } from './telemetry-kit';

// One meter's whole end of life through the services as built (issue #15): minted, enrolled, claimed,
// bootstrapped over mutual TLS, readings sealed under its occupant's key, a firmware execution queued;
// then the operator decommissions it in enrollment and the saga runs across bootstrap, the distributor
// and privacy. Each outcome is asked of the service that holds it, not of the saga's own view.

const CLASS_ID = 'em300';
const VENDOR_ID = 'test';
const DAY = 86_400_000;
/** The distributor's device projection's consumer group (apps/ota-distributor CONSUMER_GROUP). */
const DISTRIBUTOR_GROUP = 'ota-distributor';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

interface DecommissionView {
  decommissionId: string;
  state: 'CONFIRMING' | 'RECORDED';
  steps: { service: string; outcome: string; detail: string | null }[];
  record: Record<string, unknown> | null;
  recordDigest: string | null;
}
interface RecordedStep {
  service: string;
  outcome: string;
  facts: Record<string, string | number | boolean>;
}

describe('decommissioning one meter, end to end', () => {
  const logs = mkdtempSync(join(tmpdir(), 'meterkeep-decommission-e2e-'));
  const runId = Date.now().toString(36).toUpperCase();
  const tenantId = `dcm-${runId.toLowerCase()}`;
  const subjectRef = `subj-dcm-${runId.toLowerCase()}`;
  // The signing keys of the decommission record (enrollment) and the erasure certificate (privacy).
  const recordKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const certificateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let platform: Platform;
  let fleet: ActiveFleet;
  let ota: Api;
  let meter: string;
  let occupancy: { occupancyId: string; keyId: string };
  let execution: FirmwareExecutionView;
  let deployment: FirmwareDeploymentView;
  let decommission: DecommissionView;

  const must = async <T>(api: Api, method: string, path: string, body?: unknown, contentType?: string) => {
    const answer = await api(method, path, body, contentType);
    if (answer.status >= 300)
      throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as T;
  };
  const stateFile = <T>(file: string) =>
    JSON.parse(readFileSync(join(fleet.batch.statesDir, meter, file), 'utf8')) as T;

  /** A firmware release for the meter's class, and a deployment to it: one execution, QUEUED. */
  async function queueFirmwareExecution(): Promise<void> {
    await must(ota, 'PUT', `/v1/firmware/classes/${CLASS_ID}`, { vendorId: VENDOR_ID });
    await must(ota, 'POST', '/v1/firmware/update-authorities', {
      publicKeyPem: readFileSync(join(fleet.batch.dir, 'update.pub.pem'), 'utf8'),
    });
    const image = randomBytes(16 * 1024);
    const declared = await must<FirmwareImageUpload>(ota, 'POST', '/v1/firmware/images', {
      classId: CLASS_ID,
      component: 'app',
      size: image.length,
      sha256: sha256(image),
    });
    const put = await fetch(declared.upload!.parts[0]!.url, { method: 'PUT', body: image });
    expect(put.status).toBe(200);
    await must(ota, 'POST', `/v1/firmware/images/${declared.image.imageId}/complete`, {
      parts: [{ partNumber: 1, etag: put.headers.get('etag') }],
    });
    const manifest: FirmwareManifest = {
      manifestVersion: 1,
      sequenceNumber: 1,
      vendorId: VENDOR_ID,
      classId: CLASS_ID,
      components: [
        {
          id: ['app'],
          version: '2.0.1',
          format: 'raw',
          digest: { alg: 'sha-256', value: sha256(image) },
          size: image.length,
        },
      ],
      issuedAt: new Date(Date.now() - 60_000).toISOString(),
      expiresAt: new Date(Date.now() + 30 * DAY).toISOString(),
      description: 'decommission e2e release',
    };
    const signed = signManifest(manifest, [
      { privateKey: createPrivateKey(readFileSync(fleet.batch.updateAuthorityKeyFile)) },
    ]);
    const release = await must<FirmwareManifestView>(
      ota,
      'POST',
      '/v1/firmware/manifests',
      Buffer.from(signed.envelopeBytes).toString('utf8'),
      'application/json; charset=utf-8',
    );
    // Deployable once the distributor's device projection has caught up with the registry.
    deployment = await waitUntil(
      async () => {
        const answer = await ota('POST', '/v1/firmware/deployments', {
          manifestId: release.manifestId,
          deviceIds: [meter],
        });
        if (answer.status === 201) return answer.body as FirmwareDeploymentView;
        const said = `deployment answered ${answer.status} ${JSON.stringify(answer.body)}`;
        if (answer.status !== 422 && answer.status !== 409) throw new WaitAborted(said);
        throw new Error(said);
      },
      { timeoutMs: 150_000, description: `a deployment to ${meter}` },
    );
    execution = (await executionsOf(deployment.deploymentId))[0]!;
  }
  const executionsOf = async (deploymentId: string) =>
    (
      await must<{ items: FirmwareExecutionView[] }>(
        ota,
        'GET',
        `/v1/firmware/deployments/${deploymentId}/executions?limit=10`,
      )
    ).items;

  beforeAll(async () => {
    // A long-lived stack's device topics hold earlier runs' meters: the distributor starts at their end.
    const kafka = kafkaClient();
    for (const topic of [ENROLLMENT_DEVICES, DEVICE_LIFECYCLE])
      await waitUntil(() => startGroupAtEnd(kafka, DISTRIBUTOR_GROUP, topic.name).then(() => true), {
        timeoutMs: 90_000,
        description: `${DISTRIBUTOR_GROUP} at the end of ${topic.name}`,
      });
    const recordKeyFile = join(logs, 'decommission-key.pem');
    writeFileSync(recordKeyFile, recordKey.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    const certificateKeyFile = join(logs, 'certificate-key.pem');
    writeFileSync(certificateKeyFile, certificateKey.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    platform = await startPlatform({
      logs,
      ota: true,
      env: { ENROLLMENT_DECOMMISSION_KEY_FILE: recordKeyFile, ENROLLMENT_DECOMMISSION_RETRY_MS: '500' },
      privacyEnv: {
        ...dataKeyGrants(tenantId),
        PRIVACY_CERTIFICATE_KEY_FILE: certificateKeyFile,
        PRIVACY_ERASURE_RETRY_MS: '500',
      },
    });
    // Minted by the factory, its list uploaded and claimed, bootstrapped by meter-sim: ACTIVE.
    fleet = await activeFleet(platform, { tenantId, count: 1, prefix: `DC${runId}M`, model: CLASS_ID });
    meter = fleet.batch.endpointNames[0]!;
    ota = operatorApi(platform.ota!.url, fleet.apiKey);

    // Someone lives behind it, and agreed to half-hourly supplier insights.
    occupancy = await must(fleet.privacyApi, 'POST', '/v1/occupancies', {
      meterId: meter,
      subjectRef,
      from: new Date(Date.now() - 10 * DAY).toISOString(),
    });
    await must(fleet.privacyApi, 'POST', `/v1/occupancies/${occupancy.occupancyId}/consents`, {
      action: 'grant',
      purpose: 'supplier-insights',
      recipient: 'supplier',
      granularity: 'half-hourly',
      basis: 'consent',
      evidenceRef: `web:hh-optin/v3/sha256:${'9f'.repeat(32)}`,
    });
    await queueFirmwareExecution();
  }, 420_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it('the operator decommissions an ACTIVE meter with readings: the saga is recorded, signed, with every service confirming', async () => {
    // Its readings go in over mutual TLS, sealed under the occupant's key.
    const client = deviceClient(platform.ingestUri, platform.serverCaPem, {
      statesDir: fleet.batch.statesDir,
      endpointName: meter,
    });
    try {
      const answer = await client.post('/tl/v1/batches', {
        batchId: 'life-1',
        readings: dayOfReadings(utcDay(2)),
      });
      expect(answer).toMatchObject({ status: 200, body: { accepted: 48 } });
    } finally {
      client.close();
    }
    const [sealed] = (await recordsOf(kafkaClient(), TELEMETRY_READINGS.name, `${tenantId}/${meter}`)).map(
      (r) => validateEvent(TELEMETRY_READINGS, JSON.parse(r.value)),
    );
    expect(sealed!.keyId).toBe(occupancy.keyId);
    const key = await dataKey(platform, tenantId, occupancy.keyId);
    expect(key.status).toBe(200);
    expect(openReadings(sealed!, key.key!).readings).toHaveLength(48);
    expect(execution).toMatchObject({ deviceId: meter, state: 'QUEUED' });

    const started = await fleet.api('POST', `/v1/devices/${meter}/decommission`);
    expect(started).toMatchObject({ status: 200, body: { state: 'DECOMMISSIONED' } });
    decommission = await waitUntil(
      async () => {
        const view = await must<DecommissionView>(fleet.api, 'GET', `/v1/devices/${meter}/decommission`);
        return view.state === 'RECORDED' ? view : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 1_000, description: 'the decommission RECORDED' },
    );
    expect(decommission.steps.map((s) => [s.service, s.outcome])).toEqual([
      ['bootstrap', 'completed'],
      ['ota-distributor', 'completed'],
      ['privacy', 'completed'],
    ]);
    const record = decommission.record!;
    expect(checkDocumentSignature(record, recordKey.publicKey)).toEqual({ ok: true });
    expect(record).toMatchObject({ tenantId, deviceId: meter, registry: { state: 'DECOMMISSIONED' } });
    const facts = Object.fromEntries(
      (record.steps as RecordedStep[]).map((step) => [step.service, step.facts]),
    );
    // Its certificate may already be revoked when the step is asked (bootstrap also follows the
    // registry's status), so certificatesRevokedNow can be 0 here; the CRL is checked below.
    expect(facts.bootstrap).toMatchObject({ factoryCredential: 'refused', crlNumber: expect.any(Number) });
    expect(facts['ota-distributor']).toMatchObject({ activeExecutions: 0 });
    expect(facts.privacy).toMatchObject({
      occupancyId: occupancy.occupancyId,
      policy: 'erase',
      erasureState: 'CERTIFIED',
    });

    // Another tenant's operator is answered as for a meter that does not exist.
    const other = `dcx-${runId.toLowerCase()}`;
    const otherAdmin = operatorApi(
      platform.enrollment.url,
      (await runBuiltCli('enrollment', ['tenant', 'create', other], platform.env)).trim(),
    );
    const operatorKey = (
      await must<{ apiKey: string }>(otherAdmin, 'POST', '/v1/api-keys', { role: 'operator' })
    ).apiKey;
    const stranger = await operatorApi(platform.enrollment.url, operatorKey)(
      'GET',
      `/v1/devices/${meter}/decommission`,
    );
    expect(stranger).toMatchObject({ status: 404, body: { code: 'DECOMMISSION_NOT_FOUND' } });
  }, 300_000);

  it('the meter is refused: its certificate at the ingest, its factory credential and renewal at bootstrap; revoked on the CRL; its firmware execution removed', async () => {
    expect(decommission?.state).toBe('RECORDED');
    const operational = stateFile<{ privateKeyPem: string; certificatePem: string }>('operational.json');
    const ingest = deviceClient(platform.ingestUri, platform.serverCaPem, {
      keyPem: operational.privateKeyPem,
      certificatePem: operational.certificatePem,
    });
    try {
      const refused = await ingest.post('/tl/v1/batches', {
        batchId: 'after-1',
        readings: dayOfReadings(utcDay(1), 2, 1),
      });
      expect(refused).toMatchObject({ status: 403, body: { code: 'METER_NOT_ACTIVE' } });
    } finally {
      ingest.close();
    }

    const csrPem = createCsr({
      privateKey: generateKeyPair().privateKey,
      subject: { commonName: meter },
    }).pem;
    const factory = stateFile<{
      credential: { privateKeyPem: string; certificatePem: string; chainPem: string[] };
    }>('factory-bundle.json').credential;
    const rebootstrap = deviceClient(platform.bootstrapUri, platform.serverCaPem, {
      keyPem: factory.privateKeyPem,
      certificatePem: factory.certificatePem + factory.chainPem.join(''),
    });
    const renewal = deviceClient(platform.bootstrapUri, platform.serverCaPem, {
      keyPem: operational.privateKeyPem,
      certificatePem: operational.certificatePem,
    });
    try {
      const again = await rebootstrap.post('/bs/v1/bootstrap', { csrPem });
      expect(again).toMatchObject({ status: 403, body: { code: 'DEVICE_DECOMMISSIONED' } });
      const renewed = await renewal.post('/bs/v1/renew', { csrPem });
      expect(renewed).toMatchObject({ status: 403, body: { code: 'CERTIFICATE_REVOKED' } });
    } finally {
      rebootstrap.close();
      renewal.close();
    }

    // Its operational certificate is on the tenant's CRL, for cessation of operation.
    const { serial } = parseCertificate(operational.certificatePem);
    const crl = parseCrl(
      Buffer.from(
        await (await fetch(`${platform.bootstrap.url}/bs/v1/tenants/${tenantId}/crl`)).arrayBuffer(),
      ),
    );
    expect(crl.entries.get(serial)).toMatchObject({ reason: 'cessationOfOperation' });
    const bootstrapStep = (decommission.record!.steps as RecordedStep[]).find(
      (s) => s.service === 'bootstrap',
    )!;
    expect(Number(crl.crlNumber)).toBeGreaterThanOrEqual(Number(bootstrapStep.facts.crlNumber));

    const [ended] = await executionsOf(deployment.deploymentId);
    expect(ended).toMatchObject({ executionId: execution.executionId, state: 'REMOVED' });
  }, 120_000);

  it("privacy erased the occupant under the default policy: the readings' key destroyed, the certificate signed and verified", async () => {
    expect(decommission?.state).toBe('RECORDED');
    expect(await fleet.privacyApi('GET', '/v1/decommission-policy')).toMatchObject({
      status: 200,
      body: { policy: 'erase', isDefault: true },
    });
    const closed = await must<{ to: string | null }>(
      fleet.privacyApi,
      'GET',
      `/v1/occupancies/${occupancy.occupancyId}`,
    );
    expect(closed.to).toBe((decommission.record as { requestedAt: string }).requestedAt);
    expect(await dataKey(platform, tenantId, occupancy.keyId)).toMatchObject({ status: 410 });

    const privacyStep = (decommission.record!.steps as RecordedStep[]).find((s) => s.service === 'privacy')!;
    const certificate = await must<Record<string, unknown>>(
      fleet.privacyApi,
      'GET',
      `/v1/subjects/${subjectRef}/erasures/${String(privacyStep.facts.erasureId)}/certificate`,
    );
    expect(checkDocumentSignature(certificate, certificateKey.publicKey)).toEqual({ ok: true });
    // The project's verifier, as an auditor runs it: signature, chain segment, vault and raw Kafka.
    const certificateFile = join(logs, 'erasure-certificate.json');
    const publicKeyFile = join(logs, 'certificate-key.pub.pem');
    writeFileSync(certificateFile, JSON.stringify(certificate));
    writeFileSync(publicKeyFile, certificateKey.publicKey.export({ type: 'spki', format: 'pem' }));
    const report = JSON.parse(
      await runBuiltCli(
        'privacy',
        ['verify-erasure', certificateFile, '--public-key', publicKeyFile],
        { ...serviceStackEnv('privacy'), ...principalEnv('admin'), PRIVACY_KEK: platform.env.PRIVACY_KEK! },
        'cli',
      ),
    ) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    expect(report.ok).toBe(true);
    expect(report.checks.length).toBeGreaterThan(0);
    expect(report.checks.every((check) => check.ok)).toBe(true);

    // The chain of custody, as an auditor checks it: the real record against enrollment's stored audit
    // chain and this erasure certificate.
    const recordFile = join(logs, 'decommission.json');
    const recordKeyFile = join(logs, 'decommission-key.pub.pem');
    writeFileSync(recordFile, JSON.stringify(decommission));
    writeFileSync(recordKeyFile, recordKey.publicKey.export({ type: 'spki', format: 'pem' }));
    const custody = await runBuiltCli(
      'enrollment',
      [
        'verify-decommission',
        '--record',
        recordFile,
        '--public-key',
        recordKeyFile,
        '--erasure-certificate',
        certificateFile,
        '--erasure-public-key',
        publicKeyFile,
      ],
      serviceStackEnv('enrollment'),
    );
    expect(custody).toMatch(/^VERIFIED decommission /m);
    expect(custody).not.toMatch(/FAILED/);
  }, 120_000);
});
