import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FirmwareManifestView, OtaCheckInAnswer } from '@meterkeep/contracts';
import { signManifest } from '@meterkeep/firmware';
import { EnrollmentProcess, type OtaDeviceClient, OtaHarness, appManifest, waitUntil } from './ota-test-kit';

// Issue #12: a 304 check-in answers from the replica's memory, and a change committed through ANOTHER
// replica (its own process, pool and listener; one schema) is what the next check-in sees. Replica A
// takes the operators' and the meters' writes, replica B answers the check-ins.

const VENDOR = 'acme-meters';
const rand = () => randomBytes(3).toString('hex');
type CheckIn = { status: number; headers: Headers; bytes: Buffer; body: OtaCheckInAnswer };

describe('ota-distributor: check-in views cached per replica, invalidated across replicas', () => {
  let enrollment: EnrollmentProcess;
  let a: OtaHarness;
  let b: OtaHarness;
  let tenantId: string;
  let operator: string;
  let approver: string;
  const classId = `em300-${rand()}`;
  const root = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const image = randomBytes(8 * 1024);
  const bInstance = `it-replica-b-${rand()}`;
  let m1: FirmwareManifestView;

  /** A meter enrolled (projected) and reachable on both replicas. */
  const meterOn = async (label: string) => {
    const deviceId = `MTR-views-${label}-${rand()}`;
    await a.enroll(tenantId, [deviceId], classId);
    const meter = a.meter(tenantId, deviceId);
    return { deviceId, onA: a.device(meter), onB: b.device(b.meter(tenantId, deviceId)) };
  };
  const checkIn = (device: OtaDeviceClient, etag?: string) =>
    device.checkIn(
      { installed: 'none', seq: '0', slot: 'A' },
      etag ? { 'if-none-match': etag } : {},
    ) as Promise<CheckIn>;
  /** A check-in of B's that must come from its memory: 304, and counted a hit. */
  const cachedOnB = async (device: OtaDeviceClient, etag: string) => {
    const hits = b.checkInViews.stats.hits;
    const answer = await checkIn(device, etag);
    expect(answer.status).toBe(304);
    expect(b.checkInViews.stats.hits).toBe(hits + 1);
  };
  const deploy = async (deviceIds: string[]) => {
    const created = await a.request('POST', '/v1/firmware/deployments', {
      key: operator,
      json: { manifestId: m1.manifestId, deviceIds },
    });
    expect(created.status, created.text).toBe(201);
  };
  const campaignAct = (id: string, verb: string, key = operator) =>
    a.request<{ state: string }>('POST', `/v1/campaigns/${id}/${verb}`, { key });

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('ota-views');
    a = await OtaHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      testMeterHeader: true,
      env: { OTA_CAMPAIGN_TICK_MS: '200' },
    });
    // B's ticker is off: every campaign step is A's, so what B sees of it came through PostgreSQL.
    b = await OtaHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      testMeterHeader: true,
      replicaOf: a,
      checkInReconnectMs: 3_000,
      env: { OTA_CAMPAIGN_TICK_MS: '0', OTA_INSTANCE_ID: bInstance },
    });
    let admin: string;
    ({ tenantId, adminKey: admin } = await enrollment.tenant());
    [operator, approver] = await Promise.all([
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'operator'),
    ]);
    await a.prepareRelease({ admin, operator, classId, vendorId: VENDOR, authority: root.publicKey, image });
    const signed = signManifest(appManifest({ vendorId: VENDOR, classId, image, sequenceNumber: 3 }), [
      { privateKey: root.privateKey },
    ]);
    const accepted = await fetch(`${a.url}/v1/firmware/manifests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: signed.envelopeBytes,
    });
    expect(accepted.status).toBe(201);
    m1 = (await accepted.json()) as FirmwareManifestView;
    await waitUntil(() => Promise.resolve(a.checkInViews.listening && b.checkInViews.listening), {
      timeoutMs: 10_000,
      description: 'both replicas listening',
    });
  });

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await enrollment?.stop();
  });

  it('an idle meter answered from memory gets its new deployment at the next check-in', async () => {
    const m = await meterOn('idle');
    const idle = await checkIn(m.onB);
    expect(idle.status).toBe(200);
    expect(idle.body.directive).toBeUndefined();
    const etag = idle.headers.get('etag')!;
    await cachedOnB(m.onB, etag);
    await cachedOnB(m.onB, etag);

    await deploy([m.deviceId]);
    // B has heard every commit made before this (a fence on its listening connection).
    await b.checkInViews.settle();
    const directed = await checkIn(m.onB, etag);
    expect(directed.status).toBe(200);
    expect(directed.body.directive?.directive).toMatchObject({ deviceId: m.deviceId });
  });

  it('a meter suspended in the projection is held at its next check-in', async () => {
    const m = await meterOn('suspend');
    await deploy([m.deviceId]);
    const served = await checkIn(m.onA);
    expect(served.body.directive).toBeDefined();
    const etag = served.headers.get('etag')!;
    await checkIn(m.onB, etag); // B loads and keeps the view
    await cachedOnB(m.onB, etag);

    await a.lifecycle(tenantId, m.deviceId, 'suspended', 'SUSPENDED');
    await b.checkInViews.settle();
    const held = await checkIn(m.onB, etag);
    expect(held.status).toBe(200);
    expect(held.body.directive).toBeUndefined();
  });

  it("a campaign's halt cancels the not-yet-installing execution at its next check-in", async () => {
    const x = await meterOn('halt-x');
    const y = await meterOn('halt-y');
    const created = await a.request<{ campaignId: string }>('POST', '/v1/campaigns', {
      key: operator,
      json: {
        name: `views-${rand()}`,
        manifestId: m1.manifestId,
        target: { deviceIds: [x.deviceId, y.deviceId] },
        phases: [{ name: 'p1', size: { percent: 100 }, minSoakMinutes: 0, successThresholdPercent: 100 }],
        rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
        abort: [{ scope: 'phase', failureTypes: ['FAILED'], thresholdCount: 1, minExecuted: 1 }],
      },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.campaignId;
    expect((await campaignAct(id, 'submit')).status).toBe(200);
    expect((await campaignAct(id, 'approve', approver)).status).toBe(200);
    expect((await campaignAct(id, 'start')).body.state).toBe('RUNNING');

    const xDirective = (await checkIn(x.onA)).body.directive?.directive as { executionId: string };
    const yFirst = await checkIn(y.onA);
    expect(yFirst.body.directive).toBeDefined();
    const etag = yFirst.headers.get('etag')!;
    await checkIn(y.onB, etag);
    await cachedOnB(y.onB, etag);

    // x fails on A: the abort rule halts the campaign there.
    expect((await x.onA.status(xDirective.executionId, { state: 'FAILED', attempt: 1, seq: 1 })).status).toBe(
      200,
    );
    expect(
      (await a.request<{ state: string }>('GET', `/v1/campaigns/${id}`, { key: operator })).body.state,
    ).toBe('HALTED');
    await b.checkInViews.settle();
    const cancelled = await checkIn(y.onB, etag);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.directive).toBeUndefined();
    const row = await a.db
      .selectFrom('executions')
      .select('state')
      .where('tenant_id', '=', tenantId)
      .where('device_id', '=', y.deviceId)
      .executeTakeFirstOrThrow();
    expect(row.state).toBe('CANCELLED');
  });

  it('reads PostgreSQL while its listener is down, and serves nothing it may have missed once back', async () => {
    const m = await meterOn('listener');
    const idle = await checkIn(m.onB);
    const etag = idle.headers.get('etag')!;
    await cachedOnB(m.onB, etag);

    const { rows } = await sql<{ killed: boolean }>`
      select pg_terminate_backend(pid) as killed from pg_stat_activity
      where application_name = ${`check-in-views ${bInstance}`}`.execute(a.db);
    expect(rows).toEqual([{ killed: true }]);
    await waitUntil(() => Promise.resolve(!b.checkInViews.listening), {
      timeoutMs: 5_000,
      description: "B's listener down",
    });
    // Down (B reconnects after 3 s): every check-in reads the database; the deployment's
    // notification is not heard by B.
    const bypassed = b.checkInViews.stats.bypassed;
    expect((await checkIn(m.onB, etag)).status).toBe(304);
    expect(b.checkInViews.stats.bypassed).toBe(bypassed + 1);
    await deploy([m.deviceId]);
    expect(b.checkInViews.listening).toBe(false);

    await waitUntil(() => Promise.resolve(b.checkInViews.listening), {
      timeoutMs: 15_000,
      description: "B's listener back",
    });
    const directed = await checkIn(m.onB, etag);
    expect(directed.status).toBe(200);
    expect(directed.body.directive?.directive).toMatchObject({ deviceId: m.deviceId });
    // And from memory again, once loaded.
    const next = directed.headers.get('etag')!;
    expect((await checkIn(m.onB, next)).status).toBe(304);
    await cachedOnB(m.onB, next);
  });
});
