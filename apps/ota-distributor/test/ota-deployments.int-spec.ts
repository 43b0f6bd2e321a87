import { createHash, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_EVENTS,
  type AuditEvent,
  ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
  ENROLLMENT_DECOMMISSION_REQUESTS,
  ENROLLMENT_DEVICES,
  type FirmwareDeploymentView,
  type FirmwareImageUpload,
  type FirmwareManifestView,
  OTA_DEVICE_REFUSALS,
  OTA_DEVICE_STATUS_V2,
  OTA_EXECUTION_STATES,
  OTA_MAX_STATUS_REPORTS,
  type OtaCheckInAnswer,
  type OtaDeviceStatusV2Event,
  type OtaDownloadUrlAnswer,
  otaCheckInQuery,
} from '@meterkeep/contracts';
import {
  type FirmwareManifest,
  type ManifestComponent,
  type Receipt,
  signManifest,
  signReceipt,
  verifyDirective,
} from '@meterkeep/firmware';
import { type Telemetry, parsePrometheusText, samplesOf, startTelemetry } from '@meterkeep/observability';
import { DOWNLOAD_URL_BURST } from '../src/device-api/issue-download-url.use-case';
import {
  EnrollmentProcess,
  type OtaDeviceClient,
  OtaHarness,
  type TestMeter,
  TopicTap,
  testKafka,
  waitUntil,
} from './ota-test-kit';

// Spec §6.1–§6.4 (deployments, device API), §4.1 `dist.*`, §4.2 replay, §6.7 events, §6.10 fuzz:
// deployments and the OTA device API on the real stack (PostgreSQL, S3Proxy, Kafka), meters reaching
// the device routes through the test kit's one device helper.

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const DAY = 24 * 3600 * 1000;
const VENDOR = 'acme-meters';
const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
const rand = () => randomBytes(3).toString('hex');
type Json = Record<string, unknown>;

describe('ota-distributor: deployments and the device API on the real stack', () => {
  let enrollment: EnrollmentProcess;
  let h: OtaHarness;
  let statusTap: TopicTap;
  let auditTap: TopicTap;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let auditor: string;
  let other: { tenantId: string; adminKey: string };
  const classId = `em300-${rand()}`;
  const otherClassId = `em500-${rand()}`;
  const root = p256();
  const imageV1 = randomBytes(96 * 1024);
  const imageV2 = randomBytes(96 * 1024);
  /** Stands for a zstd patch from imageV1 to imageV2 (the distributor never decodes it). */
  const patchV1V2 = randomBytes(12 * 1024);
  const modemImage = randomBytes(8 * 1024);
  const id = (n: string) => `MTR-${rand()}-${n}`;
  const dev = {
    happy: id('happy'),
    suspended: id('susp'),
    decommissioned: id('decom'),
    otherClass: id('other-class'),
    status: id('status'),
    delta: id('delta'),
    onPrecursor: id('on-precursor'),
    offPrecursor: id('off-precursor'),
    noFallback: id('no-fallback'),
    fuzzClosed: id('fuzz-closed'),
    fuzzActive: id('fuzz-active'),
    spare: id('spare'),
    never: id('never-enrolled'),
  };
  let m1: FirmwareManifestView;
  let m1Bytes: Buffer;
  let m2: FirmwareManifestView;
  let m2Bytes: Buffer;
  let revoked: FirmwareManifestView;
  let sequence = 10;

  const manifest = (components: ManifestComponent[]): FirmwareManifest => ({
    manifestVersion: 1,
    sequenceNumber: ++sequence,
    vendorId: VENDOR,
    classId,
    components,
    issuedAt: new Date(Date.now() - 60_000).toISOString(),
    expiresAt: new Date(Date.now() + 90 * DAY).toISOString(),
    description: `release ${rand()}`,
  });
  const raw = (cid: 'app' | 'modem', bytes: Buffer): ManifestComponent => ({
    id: [cid],
    version: `1.${sequence}.0`,
    format: 'raw',
    digest: { alg: 'sha-256', value: sha256(bytes) },
    size: bytes.length,
  });

  async function uploadImage(cls: string, cid: string, bytes: Buffer) {
    const declared = await h.request<FirmwareImageUpload>('POST', '/v1/firmware/images', {
      key: operator,
      json: { classId: cls, component: cid, size: bytes.length, sha256: sha256(bytes) },
    });
    expect(declared.status).toBe(201);
    const [part] = declared.body.upload!.parts;
    const put = await fetch(part!.url, { method: 'PUT', body: bytes });
    expect(put.status).toBe(200);
    const done = await h.request('POST', `/v1/firmware/images/${declared.body.image.imageId}/complete`, {
      key: operator,
      json: { parts: [{ partNumber: 1, etag: put.headers.get('etag') }] },
    });
    expect(done.body).toMatchObject({ state: 'verified' });
  }
  async function accept(m: FirmwareManifest): Promise<{ view: FirmwareManifestView; bytes: Buffer }> {
    const signed = signManifest(m, [{ privateKey: root.privateKey }]);
    const response = await fetch(`${h.url}/v1/firmware/manifests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: signed.envelopeBytes,
    });
    expect(response.status).toBe(201);
    return { view: (await response.json()) as FirmwareManifestView, bytes: signed.envelopeBytes };
  }
  const deploy = (manifestId: string, deviceIds: string[], key = operator, extra: Json = {}) =>
    h.request<FirmwareDeploymentView & { code?: string; details?: Record<string, string[]> }>(
      'POST',
      '/v1/firmware/deployments',
      { key, json: { manifestId, deviceIds, ...extra } },
    );
  const executionOf = async (deploymentId: string, deviceId: string) => {
    const page = await h.request<{ items: { executionId: string; deviceId: string; state: string }[] }>(
      'GET',
      `/v1/firmware/deployments/${deploymentId}/executions?limit=1000`,
      { key: auditor },
    );
    return page.body.items.find((i) => i.deviceId === deviceId)!;
  };
  const checkIn = (device: OtaDeviceClient, headers: Record<string, string> = {}, installed = 'none') =>
    device.checkIn({ installed, seq: '0', slot: 'A' }, headers) as Promise<{
      status: number;
      headers: Headers;
      bytes: Buffer;
      body: OtaCheckInAnswer;
    }>;
  /** The directive a check-in served, verified as a meter verifies it. */
  const directiveOf = (answer: OtaCheckInAnswer, meter: TestMeter) => {
    const verified = verifyDirective(Buffer.from(JSON.stringify(answer.directive)), h.directivePublicKey, {
      deviceId: meter.deviceId,
      lastCounter: undefined,
      trustedNow: new Date(),
    });
    if (!verified.ok) throw new Error(`directive refused: ${verified.code} ${verified.message}`);
    return verified.directive;
  };
  const receiptFor = (
    meter: TestMeter,
    fields: { executionId: string; nonce: string; manifest: FirmwareManifestView },
    overrides: Partial<Receipt> = {},
    key: KeyObject = meter.privateKey,
  ) =>
    signReceipt(
      {
        deviceId: meter.deviceId,
        executionId: fields.executionId,
        manifestDigest: fields.manifest.manifestDigest,
        sequenceNumber: fields.manifest.sequenceNumber,
        bootedSlot: 'B',
        bootedImageDigests: Object.fromEntries(
          fields.manifest.components.map((c) => [c.id, c.resultDigest?.value ?? c.digest.value]),
        ),
        confirmedAt: new Date().toISOString(),
        nonce: fields.nonce,
        ...overrides,
      },
      key,
    );
  const statusEvents = (executionId: string, state: string, count = 1) =>
    statusTap
      .waitFor(
        (r) => r.json.executionId === executionId && r.json.state === state,
        count,
        `ota.device-status.v2 ${state} of ${executionId}`,
      )
      .then((records) => records.map((r) => r.json as unknown as OtaDeviceStatusV2Event));
  const auditOf = async (action: string, subject: string) =>
    (
      await auditTap.waitFor(
        (r) => r.json.tenantId === tenantId && r.json.action === action && r.json.subject === subject,
        1,
        `${action} of ${subject}`,
      )
    )[0]!.json as unknown as AuditEvent;
  const expectRefusal = (
    result: { status: number; body: unknown },
    code: keyof typeof OTA_DEVICE_REFUSALS,
  ) => {
    expect((result.body as Json | undefined)?.code).toBe(code);
    expect(result.status).toBe(OTA_DEVICE_REFUSALS[code]);
  };

  let telemetry: Telemetry;
  let statesAtStart: [string | undefined, number][] = [];
  const executionsIn = async (state: string) => {
    const text = await (await fetch((await telemetry.metricsEndpoint)!)).text();
    return samplesOf(parsePrometheusText(text), 'meterkeep_ota_executions_total', {
      meterkeep_ota_state: state,
    }).reduce((sum, sample) => sum + sample.value, 0);
  };

  beforeAll(async () => {
    telemetry = startTelemetry({
      serviceName: 'ota-it',
      traces: 'none',
      metrics: 'none',
      prometheus: { port: 0, host: '127.0.0.1' },
    });
    enrollment = await EnrollmentProcess.start('ota-dep');
    h = await OtaHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      testMeterHeader: true,
      // Short intervals keep the re-issue test quick; the defaults are the contract's.
      env: { OTA_DOWNLOAD_URL_REISSUE_SECONDS: '2', OTA_DOWNLOAD_URL_TTL_SECONDS: '60' },
    });
    // Before any deployment: what the started service exports for its executions.
    statesAtStart = samplesOf(
      parsePrometheusText(await (await fetch((await telemetry.metricsEndpoint)!)).text()),
      'meterkeep_ota_executions_total',
    ).map((sample) => [sample.labels.meterkeep_ota_state, sample.value]);
    ({ tenantId, adminKey: admin } = await enrollment.tenant());
    other = await enrollment.tenant();
    [operator, auditor] = await Promise.all([
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'auditor'),
    ]);
    statusTap = await TopicTap.open(testKafka(), OTA_DEVICE_STATUS_V2);
    auditTap = await TopicTap.open(testKafka(), AUDIT_EVENTS);
    for (const cls of [classId, otherClassId]) {
      const put = await h.request('PUT', `/v1/firmware/classes/${cls}`, {
        key: admin,
        json: { vendorId: VENDOR },
      });
      expect(put.status).toBe(200);
    }
    const registered = await h.request('POST', '/v1/firmware/update-authorities', {
      key: admin,
      json: { publicKeyPem: pem(root.publicKey) },
    });
    expect(registered.status).toBe(201);
    for (const [cid, bytes] of [
      ['app', imageV1],
      ['app', imageV2],
      ['app', patchV1V2],
      ['modem', modemImage],
    ] as const)
      await uploadImage(classId, cid, bytes);

    ({ view: m1, bytes: m1Bytes } = await accept(manifest([raw('app', imageV1), raw('modem', modemImage)])));
    ({ view: m2, bytes: m2Bytes } = await accept(
      manifest([
        {
          id: ['app'],
          version: '2.0.0',
          format: 'zstd-patch',
          digest: { alg: 'sha-256', value: sha256(patchV1V2) },
          size: patchV1V2.length,
          precursorDigest: { alg: 'sha-256', value: sha256(imageV1) },
          resultDigest: { alg: 'sha-256', value: sha256(imageV2) },
          resultSize: imageV2.length,
        },
      ]),
    ));
    ({ view: revoked } = await accept(manifest([raw('app', imageV2)])));
    const revoke = await h.request('POST', `/v1/firmware/manifests/${revoked.manifestId}/revoke`, {
      key: admin,
    });
    expect(revoke.status).toBe(200);

    const { never, otherClass, ...ofClass } = dev;
    void never;
    await h.enroll(tenantId, Object.values(ofClass), classId);
    await h.enroll(tenantId, [otherClass], otherClassId);
  });
  afterAll(async () => {
    await statusTap?.close();
    await auditTap?.close();
    await h?.stop();
    await enrollment?.stop();
    await telemetry?.shutdown();
  });

  it('starts the executions of every state at 0, so the first ones after a start show in rate()', () => {
    expect(statesAtStart.sort()).toEqual(OTA_EXECUTION_STATES.map((state) => [state, 0]).sort());
  });

  describe('deployments (operator routes)', () => {
    it('refuses devices that are unknown, of another tenant, of another class or not ACTIVE, naming each', async () => {
      await h.enroll(other.tenantId, [dev.spare.replace('spare', 'foreign')], classId);
      const refused = await deploy(m1.manifestId, [
        dev.never,
        dev.otherClass,
        dev.spare.replace('spare', 'foreign'),
      ]);
      expect(refused.status).toBe(422);
      expect(refused.body.code).toBe('DEVICES_NOT_ELIGIBLE');
      expect(refused.body.details).toEqual({
        unknown: [dev.never, dev.spare.replace('spare', 'foreign')],
        notActive: [],
        otherClass: [dev.otherClass],
        busy: [],
      });
      expect(refused.body).toHaveProperty('message', expect.stringContaining(dev.never));
      // Nothing was created: the spare device is still free.
      expect(
        (await h.request('GET', `/v1/firmware/devices/${dev.spare}`, { key: auditor })).body,
      ).toMatchObject({
        active: null,
      });
    });

    it('refuses an unknown, another tenant’s or a revoked manifest, and non-writers', async () => {
      expect((await deploy(revoked.manifestId, [dev.spare])).body).toMatchObject({
        code: 'MANIFEST_REVOKED',
      });
      const foreign = await deploy(m1.manifestId, [dev.spare], other.adminKey);
      expect(foreign.status).toBe(404);
      expect(foreign.body.code).toBe('MANIFEST_NOT_FOUND');
      expect((await deploy(m1.manifestId, [dev.spare], auditor)).status).toBe(403);
      expect((await deploy(m1.manifestId, [dev.spare, dev.spare])).status).toBe(400);
      expect((await deploy(m1.manifestId, [dev.spare], operator, { actionType: 'timeforced' })).status).toBe(
        400,
      );
    });

    let deployment: FirmwareDeploymentView;
    it('creates one QUEUED execution per device, audited and published, readable with counts and pages', async () => {
      const created = await deploy(
        m1.manifestId,
        [dev.happy, dev.suspended, dev.decommissioned, dev.status],
        operator,
        {
          window: {
            startsAt: new Date(Date.now() + 60_000).toISOString(),
            endsAt: new Date(Date.now() + DAY).toISOString(),
          },
        },
      );
      expect(created.status).toBe(201);
      deployment = created.body;
      expect(deployment).toMatchObject({
        manifestId: m1.manifestId,
        manifestDigest: m1.manifestDigest,
        classId,
        sequenceNumber: m1.sequenceNumber,
        actionType: 'soft',
        state: 'RUNNING',
        counts: { QUEUED: 4 },
      });
      const audit = await auditOf('ota.deployment-created', deployment.deploymentId);
      expect(audit.detail).toMatchObject({ manifestDigest: m1.manifestDigest, devices: 4 });
      const happy = await executionOf(deployment.deploymentId, dev.happy);
      const [queued] = await statusEvents(happy.executionId, 'QUEUED');
      expect(queued).toMatchObject({
        tenantId,
        deviceId: dev.happy,
        campaignId: deployment.deploymentId,
        attempt: 1,
        manifestDigest: m1.manifestDigest,
        sequenceNumber: m1.sequenceNumber,
      });

      // A device with an unfinished execution is busy for the next deployment.
      const busy = await deploy(m1.manifestId, [dev.happy]);
      expect(busy.body.details).toMatchObject({ busy: [dev.happy] });

      const got = await h.request<FirmwareDeploymentView>(
        'GET',
        `/v1/firmware/deployments/${deployment.deploymentId}`,
        {
          key: auditor,
        },
      );
      expect(got.body).toEqual({ ...deployment, counts: { QUEUED: 4 } });
      const foreign = await h.request('GET', `/v1/firmware/deployments/${deployment.deploymentId}`, {
        key: other.adminKey,
      });
      expect(foreign.status).toBe(404);
      expect(foreign.body).toMatchObject({ code: 'DEPLOYMENT_NOT_FOUND' });
      expect(
        (
          await h.request('GET', `/v1/firmware/deployments/${deployment.deploymentId}/executions`, {
            key: other.adminKey,
          })
        ).status,
      ).toBe(404);

      // Keyset pages by device id: two pages of two, then nothing.
      const seen: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 3; page += 1) {
        const response = await h.request<{ items: { deviceId: string }[]; next?: string }>(
          'GET',
          `/v1/firmware/deployments/${deployment.deploymentId}/executions?limit=2${after ? `&after=${after}` : ''}`,
          { key: auditor },
        );
        expect(response.status).toBe(200);
        seen.push(...response.body.items.map((i) => i.deviceId));
        after = response.body.next;
        if (!after) break;
      }
      expect(seen).toEqual([dev.happy, dev.suspended, dev.decommissioned, dev.status].sort());
      const filtered = await h.request<{ items: unknown[] }>(
        'GET',
        `/v1/firmware/deployments/${deployment.deploymentId}/executions?state=SUCCEEDED`,
        { key: auditor },
      );
      expect(filtered.body.items).toEqual([]);
    });

    it('shows a device’s firmware view: nothing installed yet, the execution under way; 404 across tenants', async () => {
      const view = await h.request('GET', `/v1/firmware/devices/${dev.happy}`, { key: auditor });
      expect(view.body).toMatchObject({
        deviceId: dev.happy,
        installed: null,
        active: { deviceId: dev.happy, state: 'QUEUED', deploymentId: deployment.deploymentId },
      });
      const foreign = await h.request('GET', `/v1/firmware/devices/${dev.happy}`, { key: other.adminKey });
      expect(foreign.status).toBe(404);
      expect(foreign.body).toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    });

    describe('the device API', () => {
      let meter: TestMeter;
      let device: OtaDeviceClient;
      let executionId: string;
      let nonce: string;
      let etag: string;

      beforeAll(async () => {
        meter = h.meter(tenantId, dev.happy);
        device = h.device(meter);
        executionId = (await executionOf(deployment.deploymentId, dev.happy)).executionId;
      });

      it('refuses a request that did not come through the device edge (401)', async () => {
        const response = await fetch(`${h.url}/ota/v1/check-in?installed=none&seq=0&slot=A`);
        expect(response.status).toBe(401);
        expect(await response.json()).toMatchObject({ code: 'CLIENT_CERTIFICATE_REQUIRED' });
      });

      it('check-in: a signed directive with the right fields, the execution NOTIFIED, audited and published', async () => {
        const answer = await checkIn(device);
        expect(answer.status).toBe(200);
        expect(answer.headers.get('cache-control')).toBe(`private, max-age=${answer.body.pollAfterSeconds}`);
        expect(Math.abs(Date.parse(answer.body.serverTime) - Date.now())).toBeLessThan(10_000);
        const directive = directiveOf(answer.body, meter);
        // The install window opens within a minute, before the next 300 s (±10 %) poll: the meter is told
        // to ask again as it opens (spread over its first minutes), never later than the poll.
        const opensIn = (Date.parse(directive.window!.startsAt) - Date.parse(answer.body.serverTime)) / 1000;
        expect(opensIn).toBeLessThan(60);
        expect(answer.body.pollAfterSeconds).toBeGreaterThanOrEqual(Math.floor(opensIn));
        expect(answer.body.pollAfterSeconds).toBeLessThanOrEqual(330);
        expect(directive).toMatchObject({
          deviceId: dev.happy,
          executionId,
          campaignId: deployment.deploymentId,
          manifestDigest: m1.manifestDigest,
          actionType: 'soft',
          pollAfterSeconds: 300,
          window: { startsAt: expect.any(String), endsAt: expect.any(String) },
        });
        expect(directive.counter).toBeGreaterThanOrEqual(1);
        expect(Date.parse(directive.expiresAt) - Date.parse(directive.issuedAt)).toBe(DAY);
        nonce = directive.nonce;
        etag = answer.headers.get('etag')!;
        expect(etag).toMatch(/^".+"$/);
        // The directive's key is the distributor's: another key does not verify it.
        expect(
          verifyDirective(Buffer.from(JSON.stringify(answer.body.directive)), p256().publicKey, {
            deviceId: dev.happy,
            lastCounter: undefined,
            trustedNow: new Date(),
          }),
        ).toMatchObject({ ok: false, code: 'DIRECTIVE_SIGNATURE_INVALID' });
        await statusEvents(executionId, 'NOTIFIED');
        const audit = await auditOf('ota.directive-issued', executionId);
        expect(audit.detail).toMatchObject({ deviceId: dev.happy, counter: directive.counter });
        expect(JSON.stringify(audit)).not.toContain(nonce);
      });

      it('check-in: 304 with no body for the same ETag, the same directive again without it', async () => {
        const cached = await checkIn(device, { 'if-none-match': etag });
        expect(cached.status).toBe(304);
        expect(cached.bytes.length).toBe(0);
        expect(cached.headers.get('etag')).toBe(etag);
        expect(cached.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
        const again = await checkIn(device);
        expect(again.status).toBe(200);
        expect(again.headers.get('etag')).toBe(etag);
        expect(directiveOf(again.body, meter).nonce).toBe(nonce);
        expect((await checkIn(device, { 'if-none-match': `"other", W/${etag}` })).status).toBe(304);
        // Another report (what the meter runs) is another state: 200.
        expect((await checkIn(device, { 'if-none-match': etag }, sha256(Buffer.from('x')))).status).toBe(200);
        const invalid = await device.checkIn({ installed: 'nope', seq: '0', slot: 'A' });
        expectRefusal(invalid, 'INVALID_REQUEST');
      });

      it('dist.manifest.only-to-targeted-devices: the exact stored envelope bytes, to this meter only', async () => {
        const got = await device.manifest(executionId);
        expect(got.status).toBe(200);
        expect(got.headers.get('content-type')).toMatch(/^application\/json/);
        expect(got.bytes.equals(m1Bytes)).toBe(true);
        // Another meter of the tenant, the same device name in another tenant, an unknown id: one 404.
        for (const [stranger, eid] of [
          [h.meter(tenantId, dev.status), executionId],
          [h.meter(other.tenantId, dev.happy), executionId],
          [meter, 'no-such-execution'],
          [meter, '../../etc'],
        ] as const) {
          expectRefusal(await h.device(stranger).manifest(eid), 'EXECUTION_NOT_FOUND');
          expectRefusal(
            await h.device(stranger).downloadUrl(eid, { component: 'app' }),
            'EXECUTION_NOT_FOUND',
          );
          expectRefusal(
            await h.device(stranger).status(eid, { state: 'DOWNLOADING', attempt: 1, seq: 1 }),
            'EXECUTION_NOT_FOUND',
          );
        }
      });

      let url: OtaDownloadUrlAnswer;
      it('download URL: a presigned GET of exactly the image bytes from S3, Range included, never logged', async () => {
        const answer = await device.downloadUrl(executionId, { component: 'app' });
        expect(answer.status).toBe(200);
        url = answer.body as unknown as OtaDownloadUrlAnswer;
        expect(url).toMatchObject({ sha256: sha256(imageV1), size: imageV1.length });
        expect(Date.parse(url.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
        expect(new URL(url.url).pathname).toContain(
          `/tenants/${tenantId}/firmware/classes/${classId}/images/${sha256(imageV1)}`,
        );
        const whole = await fetch(url.url);
        expect(whole.status).toBe(200);
        expect(Buffer.from(await whole.arrayBuffer()).equals(imageV1)).toBe(true);
        const range = await fetch(url.url, { headers: { range: 'bytes=1000-1999' } });
        expect(range.status).toBe(206);
        expect(Buffer.from(await range.arrayBuffer()).equals(imageV1.subarray(1000, 2000))).toBe(true);
        // A tampered signature is refused by S3: the URL is the only key.
        const tampered = new URL(url.url);
        tampered.searchParams.set('X-Amz-Signature', '0'.repeat(64));
        expect((await fetch(tampered)).status).toBe(403);
        const signature = new URL(url.url).searchParams.get('X-Amz-Signature')!;
        expect(h.logs.join('\n')).not.toContain(signature);

        const modem = await device.downloadUrl(executionId, { component: 'modem' });
        expect(modem.body).toMatchObject({ sha256: sha256(modemImage) });
      });

      it('download URL: the same URL again within the re-issue interval, a burst refused (429), a new one after it', async () => {
        // Request 1 was the test above: requests 2..DOWNLOAD_URL_BURST answer that very URL.
        for (let i = 2; i <= DOWNLOAD_URL_BURST; i += 1) {
          const again = await device.downloadUrl(executionId, { component: 'app' });
          expect(again.status).toBe(200);
          expect(again.body).toEqual(url);
        }
        const burst = await device.downloadUrl(executionId, { component: 'app' });
        expectRefusal(burst, 'DOWNLOAD_URL_RATE_LIMITED');
        expect(Number(burst.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expectRefusal(
          await device.downloadUrl(executionId, { component: 'metrology' }),
          'COMPONENT_NOT_IN_MANIFEST',
        );
        expectRefusal(
          await device.downloadUrl(executionId, { component: 'app', delta: true }),
          'NOT_ELIGIBLE_FOR_DELTA',
        );
        expectRefusal(await device.downloadUrl(executionId, { component: 'kernel' }), 'INVALID_REQUEST');
        await new Promise((resolve) => setTimeout(resolve, 2_100));
        const fresh = await device.downloadUrl(executionId, { component: 'app' });
        expect(fresh.status).toBe(200);
        expect((fresh.body as unknown as OtaDownloadUrlAnswer).url).not.toBe(url.url);
        expect(Date.parse((fresh.body as unknown as OtaDownloadUrlAnswer).expiresAt)).toBeGreaterThan(
          Date.parse(url.expiresAt),
        );
      });

      it('status: transitions recorded and published, repeats idempotent, conflicts and wrong transitions refused', async () => {
        // The meter acknowledges the directive: the state the distributor set, no progress. Recorded,
        // not published again (one NOTIFIED per execution on the topic, asserted below).
        expect((await device.status(executionId, { state: 'NOTIFIED', attempt: 1, seq: 0 })).body).toEqual({
          state: 'NOTIFIED',
          recorded: true,
        });
        const downloading = { state: 'DOWNLOADING', attempt: 1, seq: 1, progressPercent: 10 };
        const downloadingBefore = await executionsIn('DOWNLOADING');
        expect((await device.status(executionId, downloading)).body).toEqual({
          state: 'DOWNLOADING',
          recorded: true,
        });
        expect((await device.status(executionId, downloading)).body).toEqual({
          state: 'DOWNLOADING',
          recorded: false,
        });
        expectRefusal(
          await device.status(executionId, { ...downloading, progressPercent: 11 }),
          'STATUS_CONFLICT',
        );
        expect(
          (await device.status(executionId, { ...downloading, seq: 2, progressPercent: 60 })).body,
        ).toEqual({
          state: 'DOWNLOADING',
          recorded: true,
        });
        // Two reports recorded (the repeat and the conflict are not): two status events counted.
        expect((await executionsIn('DOWNLOADING')) - downloadingBefore).toBe(2);
        expect(
          (await device.status(executionId, { state: 'VERIFIED', attempt: 1, seq: 3 })).body,
        ).toMatchObject({
          state: 'VERIFIED',
        });
        expectRefusal(
          await device.status(executionId, { state: 'DOWNLOADING', attempt: 1, seq: 4 }),
          'STATUS_TRANSITION_INVALID',
        );
        expectRefusal(
          await device.status(executionId, { state: 'SUCCEEDED', attempt: 1, seq: 4 }),
          'INVALID_REQUEST',
        );
        expect(
          (await device.status(executionId, { state: 'CONFIRMING', attempt: 1, seq: 5 })).body,
        ).toMatchObject({
          state: 'CONFIRMING',
        });
        const events = await statusEvents(executionId, 'DOWNLOADING', 2);
        expect(events.map((e) => e.progressPercent)).toEqual([10, 60]);
        await statusEvents(executionId, 'CONFIRMING');
        // Every record of the key precedes CONFIRMING's on its partition: the acknowledgement is not there.
        expect(
          statusTap.records.filter((r) => r.json.executionId === executionId && r.json.state === 'NOTIFIED'),
        ).toHaveLength(1);
        // The check-in sees the change: the ETag moved.
        const now = await checkIn(device, { 'if-none-match': etag });
        expect(now.status).toBe(200);
        expect(now.headers.get('etag')).not.toBe(etag);
        etag = now.headers.get('etag')!;
      });

      it('dist.status.unsigned-receipt-not-counted: every receipt refusal with its code (a foreign key first), the execution untouched', async () => {
        const fields = { executionId, nonce, manifest: m1 };
        const send = (bytes: Buffer | string) => device.receipt(executionId, bytes);
        expectRefusal(
          await send(receiptFor(meter, fields, {}, p256().privateKey)),
          'RECEIPT_SIGNATURE_INVALID',
        );
        expectRefusal(
          await send(receiptFor(meter, fields, { deviceId: dev.status })),
          'RECEIPT_DEVICE_MISMATCH',
        );
        expectRefusal(
          await send(receiptFor(meter, { ...fields, executionId: 'another-execution' })),
          'RECEIPT_EXECUTION_MISMATCH',
        );
        expectRefusal(
          await send(receiptFor(meter, { ...fields, nonce: randomBytes(16).toString('base64url') })),
          'RECEIPT_NONCE_MISMATCH',
        );
        expectRefusal(
          await send(
            receiptFor(meter, fields, {
              bootedImageDigests: { app: sha256(imageV2), modem: sha256(modemImage) },
            }),
          ),
          'RECEIPT_IMAGE_MISMATCH',
        );
        expectRefusal(
          await send(receiptFor(meter, fields, { bootedImageDigests: { app: sha256(imageV1) } })),
          'RECEIPT_IMAGE_MISMATCH',
        );
        expectRefusal(
          await send(receiptFor(meter, fields, { manifestDigest: m2.manifestDigest })),
          'RECEIPT_IMAGE_MISMATCH',
        );
        expectRefusal(await send('{"receipt":{},"signature":"x"}'), 'RECEIPT_MALFORMED');
        expectRefusal(await send('{"receipt":'), 'MALFORMED_JSON');
        // Another meter's key over this meter's receipt: the certificate presented decides.
        const intruder = h.meter(tenantId, dev.happy);
        expectRefusal(
          await h.device(intruder).receipt(executionId, receiptFor(meter, fields)),
          'RECEIPT_SIGNATURE_INVALID',
        );
        const view = await h.request('GET', `/v1/firmware/devices/${dev.happy}`, { key: auditor });
        expect(view.body).toMatchObject({ installed: null, active: { state: 'CONFIRMING' } });
      });

      let receiptDigest: string;
      it('receipt: SUCCEEDED only on a verified receipt; installed firmware, audit, event; a replay answers the same', async () => {
        const bytes = receiptFor(meter, { executionId, nonce, manifest: m1 });
        const confirmed = await device.receipt(executionId, bytes);
        expect(confirmed.status).toBe(200);
        receiptDigest = (confirmed.body as { receiptDigest: string }).receiptDigest;
        expect(confirmed.body).toEqual({
          state: 'SUCCEEDED',
          receiptDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
        });
        expect((await device.receipt(executionId, bytes)).body).toEqual(confirmed.body);
        // Another (valid) receipt for the finished execution is refused.
        expectRefusal(
          await device.receipt(
            executionId,
            receiptFor(meter, { executionId, nonce, manifest: m1 }, { bootedSlot: 'A' }),
          ),
          'EXECUTION_CLOSED',
        );

        const [event] = await statusEvents(executionId, 'SUCCEEDED');
        expect(event).toMatchObject({
          receiptDigest,
          deviceId: dev.happy,
          manifestDigest: m1.manifestDigest,
        });
        const audit = await auditOf('ota.install-confirmed', executionId);
        expect(audit.detail).toMatchObject({
          receiptDigest,
          deviceId: dev.happy,
          certificateSerial: meter.serial,
        });

        const view = await h.request('GET', `/v1/firmware/devices/${dev.happy}`, { key: auditor });
        expect(view.body).toMatchObject({
          installed: {
            manifestDigest: m1.manifestDigest,
            sequenceNumber: m1.sequenceNumber,
            bootedSlot: 'B',
            receiptDigest,
            components: [
              { id: 'app', digest: sha256(imageV1) },
              { id: 'modem', digest: sha256(modemImage) },
            ],
          },
          active: null,
        });
        // Terminal: the ETag changed, no directive any more; nothing else is taken.
        const after = await checkIn(device, { 'if-none-match': etag });
        expect(after.status).toBe(200);
        expect(after.body.directive).toBeUndefined();
        expectRefusal(
          await device.status(executionId, { state: 'FAILED', attempt: 1, seq: 9 }),
          'EXECUTION_CLOSED',
        );
        expectRefusal(await device.downloadUrl(executionId, { component: 'app' }), 'EXECUTION_CLOSED');
        expectRefusal(await device.manifest(executionId), 'EXECUTION_NOT_FOUND');
        // The last report again is still a repeat, not a refusal.
        expect((await device.status(executionId, { state: 'CONFIRMING', attempt: 1, seq: 5 })).body).toEqual({
          state: 'SUCCEEDED',
          recorded: false,
        });
      });

      it('uptane.report-replay.nonce-refused: a new deployment changes the ETag; the receipt of the old execution or nonce does not count for the new one', async () => {
        const before = (await checkIn(device, {}, m1.manifestDigest)).headers.get('etag')!;
        const next = await deploy(m2.manifestId, [dev.happy, dev.delta]);
        expect(next.status).toBe(201);
        const fresh = await checkIn(device, { 'if-none-match': before }, m1.manifestDigest);
        expect(fresh.status).toBe(200);
        const directive = directiveOf(fresh.body, meter);
        expect(directive.manifestDigest).toBe(m2.manifestDigest);
        expect(directive.executionId).not.toBe(executionId);
        expect(directive.nonce).not.toBe(nonce);
        const old = receiptFor(meter, { executionId, nonce, manifest: m1 });
        expectRefusal(await device.receipt(directive.executionId, old), 'RECEIPT_EXECUTION_MISMATCH');
        const oldNonce = receiptFor(meter, { executionId: directive.executionId, nonce, manifest: m2 });
        expectRefusal(await device.receipt(directive.executionId, oldNonce), 'RECEIPT_NONCE_MISMATCH');

        // Delta: this meter runs the precursor (it said so, and its receipt proved it) → the patch.
        const delta = await device.downloadUrl(directive.executionId, { component: 'app', delta: true });
        expect(delta.status).toBe(200);
        expect(delta.body).toMatchObject({ sha256: sha256(patchV1V2), size: patchV1V2.length });
        const patch = await fetch((delta.body as unknown as OtaDownloadUrlAnswer).url);
        expect(Buffer.from(await patch.arrayBuffer()).equals(patchV1V2)).toBe(true);

        // A meter reporting another image gets no delta.
        const other = h.meter(tenantId, dev.delta);
        const otherDirective = directiveOf(
          (await checkIn(h.device(other), {}, m2.manifestDigest)).body,
          other,
        );
        expectRefusal(
          await h.device(other).downloadUrl(otherDirective.executionId, { component: 'app', delta: true }),
          'NOT_ELIGIBLE_FOR_DELTA',
        );
        await checkIn(h.device(other), {}, 'none');
        expectRefusal(
          await h.device(other).downloadUrl(otherDirective.executionId, { component: 'app', delta: true }),
          'NOT_ELIGIBLE_FOR_DELTA',
        );
        // Counters only go up, per device.
        expect(directive.counter).toBeGreaterThan(0);
        const rows = await h.db
          .selectFrom('directive_counters')
          .selectAll()
          .where('device_id', '=', dev.happy)
          .execute();
        expect(rows.map((r) => Number(r.counter))).toEqual([directive.counter]);
      });
    });

    it('logs neither the directive key nor a presigned URL', () => {
      const all = h.logs.join('\n');
      expect(all.length).toBeGreaterThan(0);
      expect(all).not.toContain('PRIVATE KEY');
      expect(all).not.toContain('X-Amz-Signature');
      expect(all).not.toContain('X-Amz-Credential');
    });

    it('status: at most OTA_MAX_STATUS_REPORTS per execution (429 with Retry-After), a repeat still answered past the cap', async () => {
      const meter = h.meter(tenantId, dev.status);
      const device = h.device(meter);
      const { executionId } = directiveOf((await checkIn(device)).body, meter);
      for (let seq = 1; seq <= OTA_MAX_STATUS_REPORTS; seq += 1) {
        const r = await device.status(executionId, {
          state: 'DOWNLOADING',
          attempt: 1,
          seq,
          progressPercent: seq,
        });
        expect(r.body).toMatchObject({ recorded: true });
      }
      const capped = await device.status(executionId, {
        state: 'FAILED',
        attempt: 1,
        seq: 999,
        failureCode: 'DIGEST_MISMATCH',
      });
      expectRefusal(capped, 'STATUS_LIMIT_REACHED');
      expect(capped.headers.get('retry-after')).not.toBeNull();
      // A repeat is still a repeat past the cap.
      expect(
        (await device.status(executionId, { state: 'DOWNLOADING', attempt: 1, seq: 3, progressPercent: 3 }))
          .body,
      ).toEqual({
        state: 'DOWNLOADING',
        recorded: false,
      });
    });

    it('a SUSPENDED meter’s execution is held (no directive), served again once resumed', async () => {
      const meter = h.meter(tenantId, dev.suspended);
      const device = h.device(meter);
      const first = await checkIn(device);
      const { executionId } = directiveOf(first.body, meter);
      await h.lifecycle(tenantId, dev.suspended, 'suspended', 'SUSPENDED');
      const held = await checkIn(device, { 'if-none-match': first.headers.get('etag')! });
      expect(held.status).toBe(200);
      expect(held.body.directive).toBeUndefined();
      expect((await executionOf(deployment.deploymentId, dev.suspended)).state).toBe('NOTIFIED');
      await h.lifecycle(tenantId, dev.suspended, 'resumed', 'ACTIVE');
      const resumed = await checkIn(device, { 'if-none-match': held.headers.get('etag')! });
      expect(resumed.status).toBe(200);
      expect(directiveOf(resumed.body, meter).executionId).toBe(executionId);
    });

    it('a DECOMMISSIONED meter’s execution is REMOVED once (idempotent consumer), published; an older event changes nothing', async () => {
      const { executionId } = await executionOf(deployment.deploymentId, dev.decommissioned);
      await h.lifecycle(tenantId, dev.decommissioned, 'decommissioned', 'DECOMMISSIONED');
      await waitUntil(
        async () =>
          (await executionOf(deployment.deploymentId, dev.decommissioned)).state === 'REMOVED'
            ? true
            : undefined,
        {
          timeoutMs: 20_000,
          description: 'REMOVED',
        },
      );
      await statusEvents(executionId, 'REMOVED');
      // The same transition again, and an older enrollment record saying ACTIVE: no second event, still decommissioned.
      await h.publish(ENROLLMENT_DEVICES, {
        eventId: globalThis.crypto.randomUUID(),
        tenantId,
        occurredAt: new Date(Date.now() - DAY).toISOString(),
        deviceId: dev.decommissioned,
        status: 'ACTIVE',
        credential: { kind: 'certificate', fingerprintSha256: 'a'.repeat(64) },
        model: classId,
      });
      await h.lifecycle(tenantId, dev.decommissioned, 'decommissioned', 'DECOMMISSIONED');
      await h.enroll(tenantId, [dev.spare], classId); // a later event, processed after those two
      expect(
        statusTap.records.filter((r) => r.json.executionId === executionId && r.json.state === 'REMOVED'),
      ).toHaveLength(1);
      const row = await h.db
        .selectFrom('devices')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('device_id', '=', dev.decommissioned)
        .executeTakeFirstOrThrow();
      expect(row.state).toBe('DECOMMISSIONED');
      const refused = await deploy(m1.manifestId, [dev.decommissioned]);
      expect(refused.body.details).toMatchObject({ notActive: [dev.decommissioned] });
    });

    it('the decommissioning step (enrollment.decommission-requests.v1) removes the execution and confirms; asked again, nothing left', async () => {
      const meter = id('decom-saga');
      await h.enroll(tenantId, [meter], classId);
      const deployed = await deploy(m1.manifestId, [meter]);
      expect(deployed.status).toBe(201);
      const { executionId, state } = await executionOf(deployed.body.deploymentId, meter);
      expect(state).not.toBe('REMOVED');
      const confirmations = await TopicTap.open(testKafka(), ENROLLMENT_DECOMMISSION_CONFIRMATIONS);
      try {
        const decommissionId = `dc-${globalThis.crypto.randomUUID()}`;
        const ask = (attempt: number) =>
          h.publish(ENROLLMENT_DECOMMISSION_REQUESTS, {
            eventId: globalThis.crypto.randomUUID(),
            tenantId,
            occurredAt: new Date().toISOString(),
            decommissionId,
            attempt,
            deviceId: meter,
            decommissionedAt: new Date().toISOString(),
          });
        const answer = async (attempt: number) =>
          (
            await confirmations.waitFor(
              (r) => r.json.decommissionId === decommissionId && r.json.attempt === attempt,
              1,
              `answer ${attempt}`,
              60_000,
            )
          )[0]!.json;
        await ask(1);
        expect(await answer(1)).toMatchObject({
          service: 'ota-distributor',
          outcome: 'completed',
          facts: { executionsRemovedNow: 1, activeExecutions: 0 },
        });
        expect((await executionOf(deployed.body.deploymentId, meter)).state).toBe('REMOVED');
        await statusEvents(executionId, 'REMOVED');
        const row = await h.db
          .selectFrom('devices')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('device_id', '=', meter)
          .executeTakeFirstOrThrow();
        expect(row.state).toBe('DECOMMISSIONED');
        await ask(2);
        expect(await answer(2)).toMatchObject({ outcome: 'completed', facts: { executionsRemovedNow: 0 } });
      } finally {
        await confirmations.close();
      }
    });

    it('revoking a manifest cancels its executions that installed nothing (published, audited, no directive or URL again); an install under way goes on', async () => {
      const { view } = await accept(manifest([raw('app', imageV2)]));
      const [idle, installing] = [id('revoke-idle'), id('revoke-installing')];
      await h.enroll(tenantId, [idle, installing], classId);
      const deployed = await deploy(view.manifestId, [idle, installing]);
      expect(deployed.status).toBe(201);
      const idleMeter = h.meter(tenantId, idle);
      const idleDevice = h.device(idleMeter);
      const first = await checkIn(idleDevice);
      const idleDirective = directiveOf(first.body, idleMeter);
      const installingMeter = h.meter(tenantId, installing);
      const installingDirective = directiveOf(
        (await checkIn(h.device(installingMeter))).body,
        installingMeter,
      );
      expect(
        (
          await h
            .device(installingMeter)
            .status(installingDirective.executionId, { state: 'INSTALLING', attempt: 1, seq: 1 })
        ).status,
      ).toBe(200);

      const revokedNow = await h.request('POST', `/v1/firmware/manifests/${view.manifestId}/revoke`, {
        key: admin,
      });
      expect(revokedNow.status).toBe(200);
      expect((await executionOf(deployed.body.deploymentId, idle)).state).toBe('CANCELLED');
      expect((await executionOf(deployed.body.deploymentId, installing)).state).toBe('INSTALLING');
      const [cancelled] = await statusEvents(idleDirective.executionId, 'CANCELLED');
      expect(cancelled).toMatchObject({ deviceId: idle, manifestDigest: view.manifestDigest });
      const audit = await auditOf('ota.manifest-revoked', view.manifestId);
      expect(audit.detail).toMatchObject({ manifestDigest: view.manifestDigest, executionsCancelled: 1 });

      // The idle meter is told nothing more of it: no directive, no manifest, no URL.
      const after = await checkIn(idleDevice, { 'if-none-match': first.headers.get('etag')! });
      expect(after.status).toBe(200);
      expect(after.body.directive).toBeUndefined();
      expectRefusal(await idleDevice.manifest(idleDirective.executionId), 'EXECUTION_NOT_FOUND');
      expectRefusal(
        await idleDevice.downloadUrl(idleDirective.executionId, { component: 'app' }),
        'EXECUTION_CLOSED',
      );
    });

    it('dead-letters a record that fails its schema, and keeps consuming', async () => {
      const dlq = await TopicTap.open(testKafka(), `${ENROLLMENT_DEVICES.name}.dlq`);
      try {
        const producer = testKafka().producer();
        await producer.connect();
        const marker = `bad-${rand()}`;
        await producer.send({
          topic: ENROLLMENT_DEVICES.name,
          messages: [
            { key: `${tenantId}/${marker}`, value: JSON.stringify({ deviceId: marker, status: 'WHATEVER' }) },
          ],
        });
        await producer.disconnect();
        await dlq.waitFor((r) => r.value.includes(marker), 1, 'the bad record on the DLQ');
        const later = id('later');
        await h.enroll(tenantId, [later], classId);
      } finally {
        await dlq.close();
      }
    });
  });

  describe('THREAT.UPD.WRONG_PRECURSOR: a delta with a full-image fallback', () => {
    let full: { view: FirmwareManifestView; bytes: Buffer };
    beforeAll(async () => {
      // The full image of m2's release: its app is m2's delta result.
      full = await accept(manifest([raw('app', imageV2)]));
    });

    it('refuses a fallback that is not the full image of the delta’s result (FALLBACK_MISMATCH), revoked or unknown', async () => {
      const wrong = await accept(manifest([raw('app', imageV1)]));
      const mismatch = await deploy(m2.manifestId, [dev.onPrecursor], operator, {
        fallbackManifestId: wrong.view.manifestId,
      });
      expect(mismatch.status).toBe(422);
      expect(mismatch.body.code).toBe('FALLBACK_MISMATCH');
      // A fallback of a manifest that carries no delta, and a delta as the fallback.
      expect(
        (
          await deploy(m1.manifestId, [dev.onPrecursor], operator, {
            fallbackManifestId: full.view.manifestId,
          })
        ).body.code,
      ).toBe('FALLBACK_MISMATCH');
      expect(
        (await deploy(m2.manifestId, [dev.onPrecursor], operator, { fallbackManifestId: m2.manifestId })).body
          .code,
      ).toBe('FALLBACK_MISMATCH');
      expect(
        (await deploy(m2.manifestId, [dev.onPrecursor], operator, { fallbackManifestId: revoked.manifestId }))
          .body.code,
      ).toBe('MANIFEST_REVOKED');
      const unknown = await deploy(m2.manifestId, [dev.onPrecursor], operator, {
        fallbackManifestId: '00000000-0000-4000-8000-000000000000',
      });
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('MANIFEST_NOT_FOUND');
      // Nothing was created.
      expect(
        (await h.request('GET', `/v1/firmware/devices/${dev.onPrecursor}`, { key: auditor })).body,
      ).toMatchObject({ active: null });
    });

    it('dist.delta.fallback-to-full: the meter on the precursor is directed to the delta, the other to the full image; neither gets the other’s payload', async () => {
      const created = await deploy(m2.manifestId, [dev.onPrecursor, dev.offPrecursor], operator, {
        fallbackManifestId: full.view.manifestId,
      });
      expect(created.status).toBe(201);
      const audit = await auditOf('ota.deployment-created', created.body.deploymentId);
      expect(audit.detail).toMatchObject({ fallbackManifestDigest: full.view.manifestDigest });

      // Runs m1, whose app image is the delta's precursor.
      const on = h.meter(tenantId, dev.onPrecursor);
      const onDirective = directiveOf((await checkIn(h.device(on), {}, m1.manifestDigest)).body, on);
      expect(onDirective.manifestDigest).toBe(m2.manifestDigest);
      expect((await h.device(on).manifest(onDirective.executionId)).bytes.equals(m2Bytes)).toBe(true);
      const patchUrl = await h
        .device(on)
        .downloadUrl(onDirective.executionId, { component: 'app', delta: true });
      expect(patchUrl.status).toBe(200);
      expect(patchUrl.body).toMatchObject({ sha256: sha256(patchV1V2), size: patchV1V2.length });
      const patch = await fetch((patchUrl.body as unknown as OtaDownloadUrlAnswer).url);
      expect(Buffer.from(await patch.arrayBuffer()).equals(patchV1V2)).toBe(true);
      // Its manifest names the patch only: no full image through it.
      expect(
        (await h.device(on).downloadUrl(onDirective.executionId, { component: 'app' })).body,
      ).toMatchObject({ sha256: sha256(patchV1V2) });

      // Runs nothing known: the full image.
      const off = h.meter(tenantId, dev.offPrecursor);
      const offDirective = directiveOf((await checkIn(h.device(off), {}, 'none')).body, off);
      expect(offDirective.manifestDigest).toBe(full.view.manifestDigest);
      expect((await h.device(off).manifest(offDirective.executionId)).bytes.equals(full.bytes)).toBe(true);
      expectRefusal(
        await h.device(off).downloadUrl(offDirective.executionId, { component: 'app', delta: true }),
        'NOT_ELIGIBLE_FOR_DELTA',
      );
      const imageUrl = await h.device(off).downloadUrl(offDirective.executionId, { component: 'app' });
      expect(imageUrl.status).toBe(200);
      expect(imageUrl.body).toMatchObject({ sha256: sha256(imageV2), size: imageV2.length });
      const image = await fetch((imageUrl.body as unknown as OtaDownloadUrlAnswer).url);
      expect(Buffer.from(await image.arrayBuffer()).equals(imageV2)).toBe(true);
      // Another meter's execution is not its own: 404, whichever manifest it names.
      expectRefusal(
        await h.device(off).downloadUrl(onDirective.executionId, { component: 'app', delta: true }),
        'EXECUTION_NOT_FOUND',
      );

      // A receipt counts for the manifest the meter was directed to, and only that one.
      expectRefusal(
        await h.device(off).receipt(
          offDirective.executionId,
          receiptFor(off, {
            executionId: offDirective.executionId,
            nonce: offDirective.nonce,
            manifest: m2,
          }),
        ),
        'RECEIPT_IMAGE_MISMATCH',
      );
      for (const [meter, directive, view] of [
        [on, onDirective, m2],
        [off, offDirective, full.view],
      ] as const) {
        const confirmed = await h
          .device(meter)
          .receipt(
            directive.executionId,
            receiptFor(meter, { executionId: directive.executionId, nonce: directive.nonce, manifest: view }),
          );
        expect(confirmed.body).toMatchObject({ state: 'SUCCEEDED' });
        const [event] = await statusEvents(directive.executionId, 'SUCCEEDED');
        expect(event).toMatchObject({
          manifestDigest: view.manifestDigest,
          sequenceNumber: view.sequenceNumber,
        });
      }
    });

    it('a deployment without fallback is as before: the delta manifest to every meter, the patch only on the precursor', async () => {
      const created = await deploy(m2.manifestId, [dev.noFallback]);
      expect(created.status).toBe(201);
      const meter = h.meter(tenantId, dev.noFallback);
      const directive = directiveOf((await checkIn(h.device(meter), {}, 'none')).body, meter);
      expect(directive.manifestDigest).toBe(m2.manifestDigest);
      expectRefusal(
        await h.device(meter).downloadUrl(directive.executionId, { component: 'app', delta: true }),
        'NOT_ELIGIBLE_FOR_DELTA',
      );
    });
  });

  describe('fuzz: ≥10,000 generated bodies per device route with a body', () => {
    const N = 10_000;
    let closed: { device: OtaDeviceClient; executionId: string };
    let active: { device: OtaDeviceClient; executionId: string; meter: TestMeter; nonce: string };

    beforeAll(async () => {
      const created = await deploy(m1.manifestId, [dev.fuzzClosed, dev.fuzzActive]);
      expect(created.status).toBe(201);
      const closedMeter = h.meter(tenantId, dev.fuzzClosed);
      const closedDevice = h.device(closedMeter);
      const c = directiveOf((await checkIn(closedDevice)).body, closedMeter);
      expect(
        (
          await closedDevice.status(c.executionId, {
            state: 'REJECTED',
            attempt: 1,
            seq: 1,
            failureCode: 'VENDOR_MISMATCH',
          })
        ).status,
      ).toBe(200);
      closed = { device: closedDevice, executionId: c.executionId };
      const activeMeter = h.meter(tenantId, dev.fuzzActive);
      const activeDevice = h.device(activeMeter);
      const a = directiveOf((await checkIn(activeDevice)).body, activeMeter);
      active = { device: activeDevice, executionId: a.executionId, meter: activeMeter, nonce: a.nonce };
    });

    /** Deterministic generator (xorshift), so a failure replays. */
    const generator = (seed: number) => {
      let x = seed || 1;
      const next = () => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return (x >>> 0) / 4_294_967_296;
      };
      const int = (n: number) => Math.floor(next() * n);
      const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
      const scalar = (): unknown =>
        pick([
          () => null,
          () => true,
          () => int(2 ** 31) - 2 ** 30,
          () => next() * 1e300,
          () => -0,
          () => 'x'.repeat(int(300)),
          () => pick(['DOWNLOADING', 'FAILED', 'SUCCEEDED', 'app', 'modem', '__proto__', 'constructor', '']),
          () => randomBytes(int(40)).toString('base64url'),
          () => '\u0000\ud800',
          () => Number.MAX_SAFE_INTEGER + 2,
        ])();
      const value = (depth = 0): unknown => {
        if (depth > 3 || next() < 0.5) return scalar();
        if (next() < 0.5) return Array.from({ length: int(5) }, () => value(depth + 1));
        return Object.fromEntries(
          Array.from({ length: int(6) }, () => [
            pick([
              'state',
              'attempt',
              'seq',
              'component',
              'delta',
              'receipt',
              'signature',
              'failureCode',
              '__proto__',
              'x',
            ]),
            value(depth + 1),
          ]),
        );
      };
      const mutate = (base: Json): Json => {
        const copy: Json = { ...base };
        const key = pick([...Object.keys(copy), 'extra', '__proto__']);
        if (next() < 0.3) delete copy[key];
        else copy[key] = value();
        return copy;
      };
      return { next, int, pick, value, mutate };
    };

    const bodies = (seed: number, valid: Json[]): string[] => {
      const g = generator(seed);
      return Array.from({ length: N }, () => {
        const kind = g.int(10);
        if (kind < 4) return JSON.stringify(g.mutate(g.pick(valid)));
        if (kind < 7) return JSON.stringify(g.value());
        if (kind < 8) return JSON.stringify(g.pick(valid)).slice(0, g.int(40));
        if (kind < 9) return randomBytes(g.int(64)).toString('latin1');
        // Valid-looking bodies: on the closed execution these must be refused too.
        return JSON.stringify(g.pick(valid));
      });
    };

    async function fuzz(
      send: (body: string, i: number) => Promise<{ status: number; body: unknown }>,
      list: string[],
    ): Promise<Map<string, number>> {
      const codes = new Map<string, number>();
      let cursor = 0;
      const worker = async () => {
        while (cursor < list.length) {
          const i = cursor++;
          let answer = await send(list[i]!, i);
          // A pool exhausted on a loaded machine answers 503 DATABASE_BUSY (capacity, not the body):
          // sent again, as a meter would after its Retry-After.
          for (let again = 0; answer.status === 503 && again < 5; again++) {
            await new Promise((resolve) => setTimeout(resolve, 500));
            answer = await send(list[i]!, i);
          }
          const code = (answer.body as Json | undefined)?.code as string | undefined;
          if (!(answer.status >= 400 && answer.status < 500) || !code || !(code in OTA_DEVICE_REFUSALS)) {
            throw new Error(
              `body #${i} ${JSON.stringify(list[i]).slice(0, 200)} answered ${answer.status} ${JSON.stringify(answer.body)}`,
            );
          }
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      // The process is alive and serving.
      expect((await fetch(`${h.url}/health/live`)).status).toBeLessThan(500);
      return codes;
    }

    it('status: every answer a 4xx with a contract code', async () => {
      const valid = [
        { state: 'DOWNLOADING', attempt: 1, seq: 2, progressPercent: 5 },
        { state: 'FAILED', attempt: 2, seq: 1, failureCode: 'DOWNLOAD_HTTP_503' },
        { state: 'ALREADY_INSTALLED', attempt: 1, seq: 7 },
      ];
      const codes = await fuzz(
        (body) => closed.device.send('POST', `/ota/v1/executions/${closed.executionId}/status`, body),
        bodies(1, valid),
      );
      expect(codes.get('EXECUTION_CLOSED')).toBeGreaterThan(0);
      expect(codes.get('INVALID_REQUEST')).toBeGreaterThan(0);
      expect(codes.get('MALFORMED_JSON')).toBeGreaterThan(0);
    }, 300_000);

    it('download-url: every answer a 4xx with a contract code', async () => {
      const valid = [
        { component: 'app' },
        { component: 'modem', delta: true },
        { component: 'metrology', delta: false },
      ];
      const codes = await fuzz(
        (body) => closed.device.send('POST', `/ota/v1/executions/${closed.executionId}/download-url`, body),
        bodies(2, valid),
      );
      expect(codes.get('EXECUTION_CLOSED')).toBeGreaterThan(0);
      expect(codes.get('INVALID_REQUEST')).toBeGreaterThan(0);
    }, 300_000);

    it('receipt: every answer a 4xx with a contract code, the active execution untouched', async () => {
      const signed = JSON.parse(
        receiptFor(
          active.meter,
          { executionId: active.executionId, nonce: active.nonce, manifest: m1 },
          { bootedSlot: 'A' },
          p256().privateKey,
        ).toString(),
      ) as Json;
      const valid = [
        signed,
        { receipt: { ...(signed.receipt as Json), nonce: 'A'.repeat(22) }, signature: signed.signature },
      ];
      const codes = await fuzz(
        (body) => active.device.send('POST', `/ota/v1/executions/${active.executionId}/receipt`, body),
        bodies(3, valid),
      );
      expect(codes.get('RECEIPT_SIGNATURE_INVALID')).toBeGreaterThan(0);
      expect(codes.get('RECEIPT_MALFORMED')).toBeGreaterThan(0);
      const row = await h.db
        .selectFrom('executions')
        .select(['state', 'receipt_digest'])
        .where('execution_id', '=', active.executionId)
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ state: 'NOTIFIED', receipt_digest: null });
    }, 300_000);

    it('check-in: 10,000 generated query strings, each a 4xx with a contract code or, when valid, a 200', async () => {
      const g = generator(4);
      const pick = <T>(items: readonly T[]): T => g.pick(items);
      const digest = sha256(imageV1);
      const values = [
        () => 'none',
        () => digest,
        () => digest.toUpperCase(),
        () => digest.slice(0, g.int(64)),
        () => String(g.int(2 ** 31)),
        () => pick(['0', '-1', '1e3', '01', '9007199254740993', '0x10', ' 1', 'A', 'B', 'C', 'a']),
        () => 'x'.repeat(g.int(3000)),
        () => randomBytes(g.int(24)).toString('latin1'),
        () => '\u0000\ud800',
      ];
      const names = [
        'installed',
        'seq',
        'slot',
        'installed[]',
        'seq[a]',
        '__proto__[x]',
        'constructor',
        'x',
        '',
      ];
      const queries = Array.from({ length: N }, () => {
        const kind = g.int(10);
        if (kind < 1) return `installed=${digest}&seq=${g.int(50)}&slot=${pick(['A', 'B'])}`;
        if (kind < 2) return randomBytes(g.int(80)).toString('latin1').replace(/[#\s]/g, '%');
        if (kind < 3)
          return pick([
            '%',
            '%zz',
            'installed=%E0%A4%A',
            '&&&',
            '=',
            'installed',
            'seq=1&seq=2&slot=A&installed=none',
          ]);
        const pairs: [string, string][] = [
          ['installed', 'none'],
          ['seq', '0'],
          ['slot', 'A'],
        ];
        for (let i = g.int(4); i >= 0; i -= 1) {
          const at = g.int(pairs.length + 1);
          if (g.next() < 0.3 && pairs.length > 0) pairs.splice(at, 1);
          else pairs.splice(at, 0, [pick(names), pick(values)()]);
        }
        return new URLSearchParams(pairs).toString();
      });
      const answers = new Map<string, number>();
      let cursor = 0;
      const worker = async () => {
        while (cursor < queries.length) {
          const i = cursor++;
          const query = queries[i]!;
          const answer = await closed.device.send('GET', `/ota/v1/check-in?${query}`);
          const code = (answer.body as Json | undefined)?.code as string | undefined;
          const valid = otaCheckInQuery.safeParse(Object.fromEntries(new URLSearchParams(query))).success;
          const refused =
            answer.status >= 400 && answer.status < 500 && !!code && code in OTA_DEVICE_REFUSALS;
          const served =
            answer.status === 200 && valid && typeof (answer.body as Json).pollAfterSeconds === 'number';
          if (!refused && !served)
            throw new Error(
              `query #${i} ${JSON.stringify(query).slice(0, 200)} answered ${answer.status} ${JSON.stringify(answer.body)}`,
            );
          const key = code ?? String(answer.status);
          answers.set(key, (answers.get(key) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      expect((await fetch(`${h.url}/health/live`)).status).toBeLessThan(500);
      expect(answers.get('INVALID_REQUEST')).toBeGreaterThan(N / 2);
      expect(answers.get('200')).toBeGreaterThan(0);
    }, 300_000);

    it('bounds bodies before parsing: too large 413, other media types 415', async () => {
      const path = `/ota/v1/executions/${active.executionId}/status`;
      expectRefusal(await active.device.send('POST', path, 'x'.repeat(9 * 1024)), 'BODY_TOO_LARGE');
      expectRefusal(
        await active.device.send('POST', path, '{}', { 'content-type': 'text/plain' }),
        'UNSUPPORTED_MEDIA_TYPE',
      );
      expectRefusal(
        await active.device.send('POST', path, '{}', { 'content-encoding': 'gzip' }),
        'UNSUPPORTED_MEDIA_TYPE',
      );
    });
  });
});
