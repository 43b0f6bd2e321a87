import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEVICE_LIFECYCLE,
  ENROLLMENT_DEVICES,
  type DeviceFirmwareView,
  type FirmwareDeploymentView,
  type FirmwareExecutionView,
  type FirmwareImageUpload,
  type FirmwareManifestView,
  OTA_DEVICE_STATUS_V2,
  type OtaDeviceStatusV2Event,
} from '@meterkeep/contracts';
import { type FirmwareManifest, signManifest } from '@meterkeep/firmware';
import {
  type ActiveFleet,
  type Api,
  type Platform,
  TopicTap,
  WaitAborted,
  activeFleet,
  deviceClient,
  operatorApi,
  runBuiltCli,
  startGroupAtEnd,
  stackEndpoints,
  startPlatform,
  waitUntil,
} from '@meterkeep/testing';
import { kafkaClient } from './telemetry-kit';

// Issue #12 end to end: the distributor and the platform as built, real meter-sim processes updating
// a small fleet over mutual TLS, the images fetched from S3 through presigned URLs. Asserted from the
// distributor's operator API and from the raw ota.device-status.v2 records. Spec §4.1 (expired offline,
// redirect), §4.3 (success only after a confirmed boot, lost receipt), §6.10 (cross-tenant).

const DAY = 86_400_000;
/** The distributor's device projection's consumer group (apps/ota-distributor CONSUMER_GROUP). */
const DISTRIBUTOR_GROUP = 'ota-distributor';
const CLASS_ID = 'em300';
const VENDOR_ID = 'test';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * An S3 endpoint in front of the real one: every request passes through untouched (signatures are
 * over the Host the client used, which is kept), except presigned GETs of the object named `rogueKey`,
 * answered with other bytes of the same length, as an attacker's server behind a redirected URL would.
 */
class RogueS3 {
  rogueKey: string | undefined;
  /** Presigned image GETs served genuine, and served with foreign bytes. */
  passed = 0;
  tampered = 0;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(upstream: string): Promise<RogueS3> {
    const target = new URL(upstream);
    const self: { rogue?: RogueS3 } = {};
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const presignedGet = req.method === 'GET' && (req.url ?? '').includes('X-Amz-Signature=');
      const foreign =
        presignedGet && self.rogue!.rogueKey !== undefined && req.url!.includes(self.rogue!.rogueKey);
      if (presignedGet) self.rogue![foreign ? 'tampered' : 'passed'] += 1;
      const forwarded = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          if (!foreign || (answer.statusCode ?? 0) >= 300) return void answer.pipe(res);
          // The same length, every byte another.
          answer
            .pipe(
              new Transform({
                transform(chunk: Buffer, _encoding, done) {
                  done(null, Buffer.from(chunk.map((b) => b ^ 0x5a)));
                },
              }),
            )
            .pipe(res);
        },
      );
      forwarded.on('error', () => res.destroy());
      req.pipe(forwarded);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const rogue = new RogueS3(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    self.rogue = rogue;
    return rogue;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface FleetRun {
  rounds: number;
  idle: boolean;
  outcomes: Record<string, number>;
  bytesFetched: number;
  devices: {
    deviceId: string;
    outcome: string;
    failureCode?: string;
    installedManifestDigest?: string;
    bytesFetched: number;
  }[];
}

describe('OTA end to end: deployments to real meters', () => {
  const logs = mkdtempSync(join(tmpdir(), 'meterkeep-ota-e2e-logs-'));
  const runId = Date.now().toString(36).toUpperCase();
  let rogue: RogueS3;
  let platform: Platform;
  let fleet: ActiveFleet;
  let ota: Api;
  let statusTap: TopicTap;
  const meters: Record<
    'happy' | 'bootFail' | 'lostReceipt' | 'redirected' | 'offline' | 'pending',
    string[]
  > = {
    pending: [],
    happy: [],
    bootFail: [],
    lostReceipt: [],
    redirected: [],
    offline: [],
  };
  const image = randomBytes(64 * 1024);
  const rogueImage = randomBytes(48 * 1024);
  let release: FirmwareManifestView;
  let redirectedRelease: FirmwareManifestView;
  let expiring: FirmwareManifestView;
  let expiringAt: number;

  const must = async <T>(method: string, path: string, body?: unknown, contentType?: string) => {
    const answer = await ota(method, path, body, contentType);
    if (answer.status >= 300)
      throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as T;
  };

  async function upload(bytes: Buffer): Promise<void> {
    const declared = await must<FirmwareImageUpload>('POST', '/v1/firmware/images', {
      classId: CLASS_ID,
      component: 'app',
      size: bytes.length,
      sha256: sha256(bytes),
    });
    const [part] = declared.upload!.parts;
    const put = await fetch(part!.url, { method: 'PUT', body: bytes });
    expect(put.status).toBe(200);
    const done = await must<{ state: string }>(
      'POST',
      `/v1/firmware/images/${declared.image.imageId}/complete`,
      { parts: [{ partNumber: 1, etag: put.headers.get('etag') }] },
    );
    expect(done.state).toBe('verified');
  }

  async function accept(
    sequenceNumber: number,
    bytes: Buffer,
    expiresAt: number,
  ): Promise<FirmwareManifestView> {
    const manifest: FirmwareManifest = {
      manifestVersion: 1,
      sequenceNumber,
      vendorId: VENDOR_ID,
      classId: CLASS_ID,
      components: [
        {
          id: ['app'],
          version: `2.0.${sequenceNumber}`,
          format: 'raw',
          digest: { alg: 'sha-256', value: sha256(bytes) },
          size: bytes.length,
        },
      ],
      issuedAt: new Date(Date.now() - 60_000).toISOString(),
      expiresAt: new Date(expiresAt).toISOString(),
      description: `e2e release ${sequenceNumber}`,
    };
    const authority = createPrivateKey(readFileSync(fleet.batch.updateAuthorityKeyFile));
    const signed = signManifest(manifest, [{ privateKey: authority }]);
    // The exact signed bytes (operatorApi passes a non-plain JSON body as it is).
    return must<FirmwareManifestView>(
      'POST',
      '/v1/firmware/manifests',
      Buffer.from(signed.envelopeBytes).toString('utf8'),
      'application/json; charset=utf-8',
    );
  }

  /** Deploys once the distributor's device directory knows every meter (it follows the registry). */
  async function deploy(
    manifest: FirmwareManifestView,
    deviceIds: string[],
  ): Promise<FirmwareDeploymentView> {
    return waitUntil(
      async () => {
        const answer = await ota('POST', '/v1/firmware/deployments', {
          manifestId: manifest.manifestId,
          deviceIds,
        });
        if (answer.status === 201) return answer.body as FirmwareDeploymentView;
        const said = `deployment answered ${answer.status} ${JSON.stringify(answer.body)}`;
        // Unknown devices (422) or not yet deployable (409) may change as the projection catches up.
        if (answer.status !== 422 && answer.status !== 409) throw new WaitAborted(said);
        throw new Error(said);
      },
      // Long enough for the distributor's device projection to join its consumer group: after earlier
      // suites the broker may wait out a departed member's session first (~85 s seen in CI).
      { timeoutMs: 150_000, description: `a deployment to ${deviceIds.join(', ')}` },
    ).catch((error: unknown) => {
      // What the projection's consumer did meanwhile (joins, rebalances, crashes, handler failures).
      const consumerLines = readFileSync(join(logs, 'ota-distributor.log'), 'utf8')
        .split('\n')
        .filter((line) => /kafka|consumer|event handler|dead-letter/i.test(line))
        .slice(-30);
      throw new Error(
        `${(error as Error).message}\ndistributor's consumer log:\n${consumerLines.join('\n')}`,
        {
          cause: error,
        },
      );
    });
  }

  const executions = async (deploymentId: string) =>
    (
      await must<{ items: FirmwareExecutionView[] }>(
        'GET',
        `/v1/firmware/deployments/${deploymentId}/executions?limit=100`,
      )
    ).items;
  const firmwareOf = (deviceId: string) =>
    must<DeviceFirmwareView>('GET', `/v1/firmware/devices/${deviceId}`);
  const view = (deploymentId: string) =>
    must<FirmwareDeploymentView>('GET', `/v1/firmware/deployments/${deploymentId}`);

  /** The raw ota.device-status.v2 records of one execution, in the order Kafka holds them. */
  const eventsOf = (executionId: string) =>
    statusTap.records
      .map((r) => r.json as unknown as OtaDeviceStatusV2Event)
      .filter((e) => e.executionId === executionId);
  const waitForEvent = (executionId: string, state: string) =>
    statusTap.waitFor(
      (r) => r.json.executionId === executionId && r.json.state === state,
      1,
      `${state} of ${executionId}`,
    );

  /** The meters as their own fleet folder (the fleet's state folders, linked): one fault set per run. */
  function fleetOf(deviceIds: string[]): string {
    const dir = mkdtempSync(join(tmpdir(), 'meterkeep-ota-e2e-fleet-'));
    for (const id of deviceIds) symlinkSync(join(fleet.batch.statesDir, id), join(dir, id));
    return dir;
  }

  /** `meter-sim fleet update` as its own process, as an operator runs it. */
  async function fleetUpdate(deviceIds: string[], args: string[]): Promise<FleetRun> {
    const out = await runBuiltCli('meter-sim', [
      'fleet',
      'update',
      '--state',
      fleetOf(deviceIds),
      '--ota-poll-seconds',
      '1',
      // A meter that never settles (a defence removed) ends the run soon, not after 200 rounds.
      ...(args.includes('--until-idle') ? ['--max-rounds', '30'] : []),
      ...args,
      '--json',
    ]);
    return JSON.parse(out) as FleetRun;
  }

  beforeAll(async () => {
    // The distributor's projection follows the registry from its consumer group's offsets. Earlier suites
    // on this stack leave ~200,000 device events (17,000 a partition seen in CI), which it would apply one
    // by one before this suite's meters: start the group at the topics' ends, as a new installation's
    // registry would be. The group must be empty: a member another suite left may take a session to go.
    const kafka = kafkaClient();
    for (const topic of [ENROLLMENT_DEVICES, DEVICE_LIFECYCLE])
      await waitUntil(() => startGroupAtEnd(kafka, DISTRIBUTOR_GROUP, topic.name).then(() => true), {
        timeoutMs: 90_000,
        description: `${DISTRIBUTOR_GROUP} at the end of ${topic.name}`,
      });
    rogue = await RogueS3.start(stackEndpoints().s3.endpoint);
    // The distributor presigns for the endpoint it is given: the one in front of S3.
    platform = await startPlatform({ logs, ota: true, otaEnv: { S3_ENDPOINT: rogue.url } });
    fleet = await activeFleet(platform, {
      tenantId: `ota-${runId.toLowerCase()}`,
      count: 12,
      prefix: `OE${runId}M`,
      model: CLASS_ID,
    });
    const ids = [...fleet.batch.endpointNames].sort();
    meters.happy = ids.slice(0, 5);
    meters.bootFail = ids.slice(5, 6);
    meters.lostReceipt = ids.slice(6, 8);
    meters.redirected = ids.slice(8, 10);
    meters.offline = ids.slice(10, 11);
    meters.pending = ids.slice(11, 12);
    ota = operatorApi(platform.ota!.url, fleet.apiKey);
    statusTap = await TopicTap.open(kafkaClient(), OTA_DEVICE_STATUS_V2);

    await must('PUT', `/v1/firmware/classes/${CLASS_ID}`, { vendorId: VENDOR_ID });
    await must('POST', '/v1/firmware/update-authorities', {
      publicKeyPem: readFileSync(join(fleet.batch.dir, 'update.pub.pem'), 'utf8'),
    });
    await upload(image);
    await upload(rogueImage);
    release = await accept(1, image, Date.now() + 90 * DAY);
    redirectedRelease = await accept(2, rogueImage, Date.now() + 90 * DAY);
    // Valid when accepted, expired by the time the long-offline meter is offered it.
    expiringAt = Date.now() + 15_000;
    expiring = await accept(3, image, expiringAt);
  }, 600_000);

  afterAll(async () => {
    await statusTap?.close();
    await platform?.stop();
    await rogue?.stop();
  });

  it('a deployment to 5 meters: each SUCCEEDED only on its verified receipt after a confirmed boot; the registry shows the release', async () => {
    const deployment = await deploy(release, meters.happy);
    const run = await fleetUpdate(meters.happy, ['--until-idle']);
    expect(run).toMatchObject({ idle: true, outcomes: { SUCCEEDED: 5 } });
    for (const device of run.devices)
      expect(device).toMatchObject({
        installedManifestDigest: release.manifestDigest,
        bytesFetched: image.length,
      });

    expect((await view(deployment.deploymentId)).counts).toEqual({ SUCCEEDED: 5 });
    for (const execution of await executions(deployment.deploymentId)) {
      const [succeeded] = await waitForEvent(execution.executionId, 'SUCCEEDED');
      const events = eventsOf(execution.executionId);
      const states = events.map((e) => e.state);
      // The meter's own reports up to its confirmed boot, then the distributor's SUCCEEDED, last.
      expect(states.slice(0, 2)).toEqual(['QUEUED', 'NOTIFIED']);
      expect(states.indexOf('CONFIRMING')).toBeGreaterThan(states.indexOf('INSTALLING'));
      expect(states.indexOf('SUCCEEDED')).toBe(states.length - 1);
      expect(states.filter((s) => s === 'SUCCEEDED')).toHaveLength(1);
      const receiptDigest = (succeeded!.json as unknown as OtaDeviceStatusV2Event).receiptDigest;
      expect(receiptDigest).toMatch(/^[0-9a-f]{64}$/);
      expect(events.filter((e) => e.state !== 'SUCCEEDED').every((e) => e.receiptDigest === undefined)).toBe(
        true,
      );

      const firmware = await firmwareOf(execution.deviceId);
      expect(firmware).toMatchObject({
        active: null,
        installed: {
          manifestDigest: release.manifestDigest,
          sequenceNumber: 1,
          bootedSlot: 'B',
          receiptDigest,
          components: [{ id: 'app', version: '2.0.1', digest: sha256(image) }],
        },
      });
    }
    // Every image byte came from S3 through a presigned URL (the endpoint in front of it), none altered.
    expect(rogue.passed).toBeGreaterThanOrEqual(5);
    expect(rogue.tampered).toBe(0);
  });

  it('e2e.success-only-after-confirmed-boot: a meter whose new image never confirms rolls back and is never counted a success', async () => {
    const deployment = await deploy(release, meters.bootFail);
    const run = await fleetUpdate(meters.bootFail, ['--until-idle', '--ota-boot-fail-rate', '1']);
    expect(run.devices[0]).toMatchObject({ outcome: 'ROLLED_BACK', failureCode: 'BOOT_CONFIRM_TIMEOUT' });
    expect(run.devices[0]!.installedManifestDigest).toBeUndefined();

    const [execution] = await executions(deployment.deploymentId);
    expect(execution).toMatchObject({ state: 'ROLLED_BACK', failureCode: 'BOOT_CONFIRM_TIMEOUT' });
    await waitForEvent(execution!.executionId, 'ROLLED_BACK');
    const states = eventsOf(execution!.executionId).map((e) => e.state);
    expect(states).toContain('INSTALLING');
    expect(states).not.toContain('SUCCEEDED');
    expect((await view(deployment.deploymentId)).counts).toEqual({ ROLLED_BACK: 1 });
    expect((await firmwareOf(meters.bootFail[0]!)).installed).toBeNull();
  });

  it('e2e.lost-receipt-recovered-by-next-checkin: the distributor waits on a lost receipt, and the next check-in brings it', async () => {
    const deployment = await deploy(release, meters.lostReceipt);
    // One round: the meters install, boot and confirm; their receipts are lost on the way.
    const first = await fleetUpdate(meters.lostReceipt, [
      '--max-rounds',
      '1',
      '--ota-lose-receipt-meters',
      String(meters.lostReceipt.length),
    ]);
    expect(first.outcomes).toEqual({ SUCCEEDED: 2 });
    const confirming = await executions(deployment.deploymentId);
    // The meters report up to CONFIRMING; without a receipt the distributor never counts them.
    expect(confirming.map((e) => e.state)).toEqual(['CONFIRMING', 'CONFIRMING']);
    for (const { executionId } of confirming) await waitForEvent(executionId, 'CONFIRMING');
    expect((await view(deployment.deploymentId)).counts).toEqual({ CONFIRMING: 2 });
    for (const id of meters.lostReceipt) expect((await firmwareOf(id)).installed).toBeNull();

    // The next check-in: each meter reports the release it runs and signs its receipt again; nothing is
    // downloaded again.
    const next = await fleetUpdate(meters.lostReceipt, ['--until-idle']);
    expect(next).toMatchObject({ idle: true, outcomes: { SUCCEEDED: 2 }, bytesFetched: 0 });
    expect((await view(deployment.deploymentId)).counts).toEqual({ SUCCEEDED: 2 });
    for (const { executionId, deviceId } of confirming) {
      const [succeeded] = await waitForEvent(executionId, 'SUCCEEDED');
      const receiptDigest = (succeeded!.json as unknown as OtaDeviceStatusV2Event).receiptDigest;
      expect((await firmwareOf(deviceId)).installed).toMatchObject({
        manifestDigest: release.manifestDigest,
        receiptDigest,
      });
    }
  });

  it('suit.redirect.foreign-bytes-digest-mismatch: other bytes of the same length behind the presigned URL are refused, never counted', async () => {
    rogue.rogueKey = sha256(rogueImage);
    const deployment = await deploy(redirectedRelease, meters.redirected);
    const run = await fleetUpdate(meters.redirected, ['--until-idle']);
    expect(rogue.tampered).toBeGreaterThanOrEqual(meters.redirected.length);
    for (const device of run.devices)
      expect(device).toMatchObject({ outcome: 'REJECTED', failureCode: 'DIGEST_MISMATCH' });

    const refused = await executions(deployment.deploymentId);
    for (const execution of refused) {
      expect(execution).toMatchObject({ state: 'REJECTED', failureCode: 'DIGEST_MISMATCH' });
      const [event] = await waitForEvent(execution.executionId, 'REJECTED');
      expect(event!.json).toMatchObject({
        failureCode: 'DIGEST_MISMATCH',
        manifestDigest: redirectedRelease.manifestDigest,
      });
      expect(eventsOf(execution.executionId).map((e) => e.state)).not.toContain('SUCCEEDED');
      // What they run is still what the happy path's release is not: nothing was installed.
      expect((await firmwareOf(execution.deviceId)).installed).toBeNull();
    }
    expect((await view(deployment.deploymentId)).counts).toEqual({ REJECTED: 2 });
  });

  it('suit.img-expired-offline.expired-manifest-refused: a meter back after 120 days off refuses an expired manifest; its skewed wall clock does not help', async () => {
    const [meter] = meters.offline;
    // The meter last heard an authenticated server time 120 days ago (its persisted trusted clock),
    // then was off for those 120 days (--ota-offline-days): it counts them, so it knows the date.
    await fleetUpdate(meters.offline, ['--max-rounds', '1']);
    const stateFile = join(fleet.batch.statesDir, meter!, 'update-state.json');
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(
      stateFile,
      JSON.stringify({ ...state, trustedTime: { serverMs: Date.now() - 120 * DAY, elapsedMs: 0 } }),
    );

    const deployment = await deploy(expiring, meters.offline);
    await waitUntil(() => Date.now() > expiringAt + 1_000, {
      timeoutMs: 60_000,
      description: 'the manifest to expire',
    });
    const run = await fleetUpdate(meters.offline, [
      '--until-idle',
      '--ota-offline-days',
      '120',
      // Its wall clock says 130 days ago, when the manifest was not yet expired.
      `--ota-clock-skew=${-130 * DAY}`,
    ]);
    expect(run.devices[0]).toMatchObject({
      outcome: 'REJECTED',
      failureCode: 'MANIFEST_EXPIRED',
      bytesFetched: 0,
    });

    const [execution] = await executions(deployment.deploymentId);
    expect(execution).toMatchObject({ state: 'REJECTED', failureCode: 'MANIFEST_EXPIRED' });
    await waitForEvent(execution!.executionId, 'REJECTED');
    expect(eventsOf(execution!.executionId).map((e) => e.state)).not.toContain('SUCCEEDED');
    expect((await firmwareOf(meter!)).installed).toBeNull();
  });

  it("cross-tenant: another tenant's meter gets 404 for this tenant's manifest and download URL; its operator key 404 for the deployment", async () => {
    // An execution under way: its own meter is served the manifest and a URL.
    const deployment = await deploy(release, meters.pending);
    const [execution] = await executions(deployment.deploymentId);
    const id = encodeURIComponent(execution!.executionId);
    const owner = deviceClient(platform.otaUri, platform.serverCaPem, {
      statesDir: fleet.batch.statesDir,
      endpointName: meters.pending[0]!,
    });
    try {
      expect((await owner.get('/ota/v1/check-in?installed=none&seq=0&slot=A')).status).toBe(200);
      expect((await owner.get(`/ota/v1/executions/${id}/manifest`)).status).toBe(200);
      expect((await owner.post(`/ota/v1/executions/${id}/download-url`, { component: 'app' })).status).toBe(
        200,
      );
    } finally {
      owner.close();
    }
    const other = await activeFleet(platform, {
      tenantId: `ota-other-${runId.toLowerCase()}`,
      count: 1,
      prefix: `OX${runId}M`,
      model: CLASS_ID,
    });
    const stranger = deviceClient(platform.otaUri, platform.serverCaPem, {
      statesDir: other.batch.statesDir,
      endpointName: other.batch.endpointNames[0]!,
    });
    try {
      // Its own check-in works: the refusals below are about the tenant, not the meter.
      expect(
        (
          await waitUntil(
            async () => {
              const answer = await stranger.get('/ota/v1/check-in?installed=none&seq=0&slot=A');
              return answer.status === 200 ? answer : undefined;
            },
            { timeoutMs: 150_000, description: "the other tenant's meter known to the distributor" },
          )
        ).status,
      ).toBe(200);
      const manifest = await stranger.get(`/ota/v1/executions/${id}/manifest`);
      expect(manifest).toMatchObject({ status: 404, body: { code: 'EXECUTION_NOT_FOUND' } });
      const url = await stranger.post(`/ota/v1/executions/${id}/download-url`, { component: 'app' });
      expect(url).toMatchObject({ status: 404, body: { code: 'EXECUTION_NOT_FOUND' } });
    } finally {
      stranger.close();
    }
    const otherOperator = operatorApi(platform.ota!.url, other.apiKey);
    for (const path of [
      `/v1/firmware/deployments/${deployment.deploymentId}`,
      `/v1/firmware/deployments/${deployment.deploymentId}/executions`,
      `/v1/firmware/manifests/${release.manifestId}`,
      `/v1/firmware/devices/${execution!.deviceId}`,
    ]) {
      const answer = await otherOperator('GET', path);
      expect(answer.status, path).toBe(404);
    }
  });
});
