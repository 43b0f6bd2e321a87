import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ENROLLMENT_DEVICES,
  type FirmwareManifestView,
  type HttpErrorBody,
  OTA_DEVICE_STATUS_V2,
  type OtaCampaignDeviceView,
  type OtaCampaignSimulation,
  type OtaCampaignView,
  type OtaCheckInAnswer,
} from '@meterkeep/contracts';
import { signManifest, signReceipt } from '@meterkeep/firmware';
import { directiveWindow, wallClock } from '../src/campaigns/domain/maintenance-window';
import {
  EnrollmentProcess,
  type OtaDeviceClient,
  OtaHarness,
  type TestMeter,
  appManifest,
  TopicTap,
  testKafka,
  waitUntil,
  countersAndRecount,
} from './ota-test-kit';

// Issue #13, spec §6.5–§6.6 and §7.5 on the real stack: maintenance windows in the directive (they gate
// install, not download), admission bounded by each gateway's concurrency and bytes per hour (the
// gateway from enrollment.devices.v1, kept by the projection), and automatic retries per failure code
// after their backoff, counters held to a recount. Models: ota-campaign-rollout.int-spec.ts.

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const VENDOR = 'acme-meters';
const rand = () => randomBytes(3).toString('hex');
type Answer = OtaCampaignView & Partial<HttpErrorBody>;
type Page = { items: OtaCampaignDeviceView[]; next?: string } & Partial<HttpErrorBody>;
interface SeenDirective {
  executionId: string;
  campaignId: string;
  nonce: string;
  issuedAt: string;
  window?: { startsAt: string; endsAt: string };
}

describe('ota-distributor: campaign windows, gateway budgets and automatic retries', () => {
  let enrollment: EnrollmentProcess;
  let h: OtaHarness;
  let statusTap: TopicTap;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let approver: string;
  let auditor: string;
  const classId = `em310-${rand()}`;
  const root = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const image = randomBytes(16 * 1024);
  let m1: FirmwareManifestView;
  const meters = new Map<string, { meter: TestMeter; device: OtaDeviceClient }>();

  const act = (campaignId: string, verb: string, key = operator, json?: Record<string, unknown>) =>
    h.request<Answer>('POST', `/v1/campaigns/${campaignId}/${verb}`, {
      key,
      ...(json !== undefined && { json }),
    });
  const read = async (campaignId: string) =>
    (await h.request<Answer>('GET', `/v1/campaigns/${campaignId}`, { key: auditor })).body;
  const devicesOf = async (campaignId: string) =>
    (await h.request<Page>('GET', `/v1/campaigns/${campaignId}/devices?limit=1000`, { key: auditor })).body
      .items;
  /** Meters enrolled as enrollment publishes them, behind `gatewayId` when given. */
  const enrolled = async (n: number, label: string, gatewayId?: string) => {
    const ids = Array.from({ length: n }, (_, i) => `MTR-${label}-${rand()}-${String(i).padStart(3, '0')}`);
    await h.publish(
      ENROLLMENT_DEVICES,
      ...ids.map((deviceId) => ({
        eventId: globalThis.crypto.randomUUID(),
        tenantId,
        occurredAt: new Date().toISOString(),
        deviceId,
        status: 'ACTIVE' as const,
        credential: { kind: 'certificate' as const, fingerprintSha256: randomBytes(32).toString('hex') },
        classId,
        ...(gatewayId !== undefined && { gatewayId }),
      })),
    );
    for (const id of ids) {
      await h.waitForDevice(tenantId, id, 'ACTIVE');
      const meter = h.meter(tenantId, id);
      meters.set(id, { meter, device: h.device(meter) });
    }
    return ids;
  };
  const device = (id: string) => meters.get(id)!.device;
  const checkIn = async (id: string) => {
    const answer = await device(id).checkIn({ installed: 'none', seq: '0', slot: 'A' });
    expect(answer.status).toBe(200);
    return (answer.body as unknown as OtaCheckInAnswer).directive?.directive as SeenDirective | undefined;
  };
  const receipt = (id: string, directive: SeenDirective) =>
    device(id).receipt(
      directive.executionId,
      signReceipt(
        {
          deviceId: id,
          executionId: directive.executionId,
          manifestDigest: m1.manifestDigest,
          sequenceNumber: m1.sequenceNumber,
          bootedSlot: 'B',
          bootedImageDigests: { app: sha256(image) },
          confirmedAt: new Date().toISOString(),
          nonce: directive.nonce,
        },
        meters.get(id)!.meter.privateKey,
      ),
    );
  const expectCountersKept = async (campaignId: string) => {
    const { kept, recount } = await countersAndRecount(h.db, campaignId);
    expect(kept).toEqual(recount);
  };
  async function create(json: Record<string, unknown>) {
    return h.request<Answer>('POST', '/v1/campaigns', {
      key: operator,
      json: { name: `c-${rand()}`, manifestId: m1.manifestId, ...json },
    });
  }
  /** Created, submitted, approved by a second person, started. */
  async function launch(json: Record<string, unknown>): Promise<Answer> {
    const created = await create(json);
    expect(created.status, created.text).toBe(201);
    const id = created.body.campaignId;
    expect((await act(id, 'submit')).status).toBe(200);
    expect((await act(id, 'approve', approver)).status).toBe(200);
    const started = await act(id, 'start');
    expect(started.status, started.text).toBe(200);
    return started.body;
  }
  const onePhase = [{ name: 'all', size: { percent: 100 }, minSoakMinutes: 0, successThresholdPercent: 100 }];
  const lenient = [{ scope: 'campaign', failureTypes: ['FAILED'], thresholdCount: 1000, minExecuted: 1000 }];
  const waitFor = <T>(probe: () => Promise<T | undefined>, description: string) =>
    waitUntil(probe, { timeoutMs: 20_000, description });
  const admittedOf = async (campaignId: string) =>
    (await devicesOf(campaignId)).filter((d) => d.admittedAt !== null).map((d) => d.deviceId);

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('ota-gate');
    h = await OtaHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      testMeterHeader: true,
      env: { OTA_CAMPAIGN_TICK_MS: '200' },
    });
    ({ tenantId, adminKey: admin } = await enrollment.tenant());
    [operator, approver, auditor] = await Promise.all([
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'auditor'),
    ]);
    statusTap = await TopicTap.open(testKafka(), OTA_DEVICE_STATUS_V2);
    await h.prepareRelease({ admin, operator, classId, vendorId: VENDOR, authority: root.publicKey, image });
    const signed = signManifest(appManifest({ vendorId: VENDOR, classId, image, sequenceNumber: 3 }), [
      { privateKey: root.privateKey },
    ]);
    const accepted = await fetch(`${h.url}/v1/firmware/manifests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: signed.envelopeBytes,
    });
    expect(accepted.status).toBe(201);
    m1 = (await accepted.json()) as FirmwareManifestView;
  });

  afterAll(async () => {
    await statusTap?.close();
    await h?.stop();
    await enrollment?.stop();
  });

  it('a directive outside the maintenance window lets the meter download now and names the window to install in', async () => {
    const [inWindowed, plain] = [await enrolled(1, 'win'), await enrolled(1, 'nowin')];
    // A daily window in London local time six hours from now: closed now whatever the date and DST.
    const later = new Date(wallClock('Europe/London', Date.now() + 6 * 3_600_000));
    const windows = [
      {
        cron: `${later.getUTCMinutes()} ${later.getUTCHours()} * * *`,
        durationMinutes: 90,
        timezone: 'Europe/London',
      },
    ];
    const windowed = await launch({
      target: { deviceIds: inWindowed },
      phases: onePhase,
      maintenanceWindows: windows,
    });
    const directive = (await checkIn(inWindowed[0]!))!;
    expect(directive).toMatchObject({ campaignId: windowed.campaignId });
    const expected = directiveWindow(windows, new Date(directive.issuedAt))!;
    expect(directive.window).toEqual({
      startsAt: expected.startsAt.toISOString(),
      endsAt: expected.endsAt.toISOString(),
    });
    // Outside the window: install later, download now (the execution NOTIFIED, a download URL issued).
    const startsIn = Date.parse(directive.window!.startsAt) - Date.parse(directive.issuedAt);
    expect(startsIn).toBeGreaterThan(5 * 3_600_000);
    expect(startsIn).toBeLessThan(7 * 3_600_000);
    expect(Date.parse(directive.window!.endsAt) - Date.parse(directive.window!.startsAt)).toBe(90 * 60_000);
    expect((await devicesOf(windowed.campaignId))[0]!.state).toBe('NOTIFIED');
    const url = await device(inWindowed[0]!).downloadUrl(directive.executionId, {
      component: 'app',
      delta: false,
    });
    expect(url.status, JSON.stringify(url.body)).toBe(200);

    // A campaign without windows: no window, install when ready.
    await launch({ target: { deviceIds: plain }, phases: onePhase });
    expect((await checkIn(plain[0]!))!.window).toBeUndefined();

    // A window that never opens would leave installs ungated: refused at create, naming the field.
    const never = await create({
      target: { deviceIds: plain },
      maintenanceWindows: [{ cron: '0 0 30 2 *', durationMinutes: 60, timezone: 'Europe/London' }],
    });
    expect(never.status).toBe(422);
    expect(never.body).toMatchObject({
      code: 'INVALID_CRON',
      message: expect.stringContaining('maintenanceWindows.0.cron'),
    });
  });

  it("keeps enrollment's gateway and admits no more than a gateway's concurrency, others past it", async () => {
    const gateway = `GW-${rand()}`;
    const behind = await enrolled(5, 'gwc', gateway);
    const direct = await enrolled(2, 'direct');
    const stored = await h.db
      .selectFrom('devices')
      .select(['device_id', 'gateway_id'])
      .where('tenant_id', '=', tenantId)
      .where('device_id', 'in', [...behind, ...direct])
      .execute();
    expect(new Set(stored.map((d) => d.gateway_id))).toEqual(new Set([gateway, null]));
    expect(stored.filter((d) => d.gateway_id === gateway)).toHaveLength(5);

    const started = await launch({
      target: { deviceIds: [...behind, ...direct] },
      phases: onePhase,
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 2 },
      abort: lenient,
    });
    const id = started.campaignId;
    const admitted = await admittedOf(id);
    // Both direct meters and two of the gateway's five, whatever their order.
    expect(admitted.filter((d) => direct.includes(d)).sort()).toEqual([...direct].sort());
    expect(admitted.filter((d) => behind.includes(d))).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await admittedOf(id)).filter((d) => behind.includes(d))).toHaveLength(2);
    const held = behind.find((d) => !admitted.includes(d))!;
    expect(await checkIn(held)).toBeUndefined();

    // One of the two finishes (confirmed): the ticker admits one more of the gateway, never a third at once.
    const done = admitted.find((d) => behind.includes(d))!;
    expect((await receipt(done, (await checkIn(done))!)).status).toBe(200);
    await waitFor(
      async () => ((await admittedOf(id)).filter((d) => behind.includes(d)).length === 3 ? true : undefined),
      'a third gateway meter admitted after one finished',
    );
    const rows = await devicesOf(id);
    const unfinished = rows.filter(
      (d) =>
        behind.includes(d.deviceId) && d.admittedAt !== null && !['SUCCEEDED', 'FAILED'].includes(d.state),
    );
    expect(unfinished).toHaveLength(2);
    await expectCountersKept(id);
  });

  it("holds a gateway's meters once its bytes per hour are spent; target.query.gatewayIds selects by gateway", async () => {
    const gateway = `GW-${rand()}`;
    const behind = await enrolled(4, 'gwb', gateway);
    await enrolled(1, 'other-gw', `GW-${rand()}`);
    // Room for two downloads an hour; concurrency would allow all four.
    const started = await launch({
      target: { query: { gatewayIds: [gateway] } },
      phases: onePhase,
      rollout: {
        maxPerMinute: 100,
        perGatewayConcurrency: 50,
        perGatewayBytesPerHour: Math.floor(2.5 * image.length),
      },
      abort: lenient,
    });
    const id = started.campaignId;
    expect(started.counts).toEqual({ QUEUED: 4 });
    expect((await devicesOf(id)).map((d) => d.deviceId).sort()).toEqual([...behind].sort());
    const admitted = await admittedOf(id);
    expect(admitted).toHaveLength(2);
    // A finished download frees no bytes within the hour (unlike concurrency).
    const done = admitted[0]!;
    expect((await receipt(done, (await checkIn(done))!)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await admittedOf(id)).toHaveLength(2);
    // An hour later (the admissions moved back, not the clock) two more fit.
    await h.db
      .updateTable('campaign_admissions')
      .set({ admitted_at: new Date(Date.now() - 3_601_000) })
      .where('campaign_id', '=', id)
      .execute();
    await waitFor(
      async () => ((await admittedOf(id)).length === 4 ? true : undefined),
      'two more an hour later',
    );
    await expectCountersKept(id);

    const sim = await h.request<OtaCampaignSimulation>('POST', `/v1/campaigns/${id}/simulate`, {
      key: auditor,
    });
    expect(sim.status).toBe(409);
  });

  it("a gateway's concurrency holds across campaigns: together never past the strictest limit of those sharing it", async () => {
    const gateway = `GW-${rand()}`;
    const forA = await enrolled(3, 'gwxa', gateway);
    const forB = await enrolled(3, 'gwxb', gateway);
    const forC = await enrolled(2, 'gwxc', gateway);
    /** Admitted, unfinished executions behind the gateway, whichever campaign they belong to. */
    const inFlight = async () =>
      (
        await h.db
          .selectFrom('campaign_members as m')
          .innerJoin('executions as e', 'e.execution_id', 'm.execution_id')
          .select('m.device_id')
          .where('m.gateway_id', '=', gateway)
          .where('e.admitted_at', 'is not', null)
          .where('e.state', 'not in', ['SUCCEEDED', 'FAILED', 'CANCELLED'])
          .execute()
      ).map((r) => r.device_id);
    const finish = async (deviceId: string) =>
      expect((await receipt(deviceId, (await checkIn(deviceId))!)).status).toBe(200);
    const ticks = () => new Promise((resolve) => setTimeout(resolve, 1_000));
    const gatewayOf = (ids: string[], perGatewayConcurrency: number) =>
      launch({
        target: { deviceIds: ids },
        phases: onePhase,
        rollout: { maxPerMinute: 100, perGatewayConcurrency },
        abort: lenient,
      });

    const a = (await gatewayOf(forA, 2)).campaignId;
    expect(await admittedOf(a)).toHaveLength(2);
    // B's own count behind the gateway is 0, but the gateway carries A's two: B admits none.
    const b = (await gatewayOf(forB, 2)).campaignId;
    await ticks();
    expect(await admittedOf(b)).toEqual([]);
    expect(await inFlight()).toHaveLength(2);
    expect(await checkIn(forB[0]!)).toBeUndefined();

    // One of A's finishes: one more is admitted, of either campaign, never two.
    const [firstA] = await admittedOf(a);
    await finish(firstA!);
    await waitFor(
      async () => ((await admittedOf(a)).length + (await admittedOf(b)).length === 3 ? true : undefined),
      'one more admitted behind the gateway',
    );
    await ticks();
    expect((await admittedOf(a)).length + (await admittedOf(b)).length).toBe(3);
    expect(await inFlight()).toHaveLength(2);

    // C allows one at a time behind the gateway: with C's meters waiting there, its limit binds all three.
    const c = (await gatewayOf(forC, 1)).campaignId;
    const [first, second] = await inFlight();
    await finish(first!);
    await ticks();
    expect(await inFlight()).toEqual([second]);
    expect(await admittedOf(c)).toEqual([]);
    await finish(second!);
    await waitFor(
      async () => ((await inFlight()).length === 1 ? true : undefined),
      'one admitted once empty',
    );
    await ticks();
    expect(await inFlight()).toHaveLength(1);
    for (const id of [a, b, c]) await expectCountersKept(id);
  });

  it("a gateway's bytes per hour count every campaign's downloads through it", async () => {
    const gateway = `GW-${rand()}`;
    const forA = await enrolled(3, 'gwya', gateway);
    const forB = await enrolled(2, 'gwyb', gateway);
    const rollout = {
      maxPerMinute: 100,
      perGatewayConcurrency: 50,
      perGatewayBytesPerHour: Math.floor(2.5 * image.length),
    };
    const a = (await launch({ target: { deviceIds: forA }, phases: onePhase, rollout, abort: lenient }))
      .campaignId;
    expect(await admittedOf(a)).toHaveLength(2);
    // A spent two downloads of the gateway's hour: B's first would be the third.
    const b = (await launch({ target: { deviceIds: forB }, phases: onePhase, rollout, abort: lenient }))
      .campaignId;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await admittedOf(b)).toEqual([]);
    expect(await admittedOf(a)).toHaveLength(2);
  });

  it('retries a failure whose code the policy names after its backoff, under the same id, until attempts run out', async () => {
    const [retried, refused] = (await enrolled(2, 'retry')) as [string, string];
    const started = await launch({
      target: { deviceIds: [retried, refused] },
      phases: onePhase,
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      retry: { max: 2, backoffMinutes: 1, codes: ['DOWNLOAD_*'] },
      abort: lenient,
    });
    const id = started.campaignId;
    const first = (await checkIn(retried))!;
    const other = (await checkIn(refused))!;
    const fail = (meter: string, executionId: string, attempt: number, failureCode: string) =>
      device(meter).status(executionId, { state: 'FAILED', attempt, seq: 1, failureCode });
    expect((await fail(retried, first.executionId, 1, 'DOWNLOAD_HTTP_503')).status).toBe(200);
    expect((await fail(refused, other.executionId, 1, 'DIGEST_MISMATCH')).status).toBe(200);
    const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000);
    const backdate = (minutes: number) =>
      h.db
        .updateTable('executions')
        .set({ stage_entered_at: ago(minutes) })
        .where('execution_id', 'in', [first.executionId, other.executionId])
        .execute();
    // Within the backoff nothing moves.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await devicesOf(id)).map((d) => d.state).sort()).toEqual(['FAILED', 'FAILED']);

    // The backoff (1 min) has run: the retryable one is queued again as attempt 2 and admitted.
    await backdate(1.5);
    const stateOf = async (meter: string) => (await devicesOf(id)).find((d) => d.deviceId === meter)!;
    await waitFor(async () => ((await stateOf(retried)).attempt === 2 ? true : undefined), 'attempt 2');
    await statusTap.waitFor(
      (r) => r.json.executionId === first.executionId && r.json.state === 'QUEUED' && r.json.attempt === 2,
      1,
      'QUEUED attempt 2 on ota.device-status.v2',
    );
    await waitFor(async () => ((await stateOf(retried)).admittedAt ? true : undefined), 'attempt 2 admitted');
    expect(await stateOf(refused)).toMatchObject({
      state: 'FAILED',
      attempt: 1,
      failureCode: 'DIGEST_MISMATCH',
    });
    const second = (await checkIn(retried))!;
    expect(second.executionId).toBe(first.executionId);
    expect(second.nonce).not.toBe(first.nonce);
    await expectCountersKept(id);

    // Attempt 2 fails too: its backoff doubles (2 min), so 1.5 min is not enough, 2.5 is.
    expect((await fail(retried, first.executionId, 2, 'DOWNLOAD_SLOW')).status).toBe(200);
    await backdate(1.5);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await stateOf(retried)).toMatchObject({ state: 'FAILED', attempt: 2 });
    await backdate(2.5);
    await waitFor(async () => ((await stateOf(retried)).attempt === 3 ? true : undefined), 'attempt 3');
    await waitFor(async () => ((await stateOf(retried)).admittedAt ? true : undefined), 'attempt 3 admitted');
    await checkIn(retried);
    // Attempt 3 fails: two retries spent, it stays FAILED however long ago.
    expect((await fail(retried, first.executionId, 3, 'DOWNLOAD_SLOW')).status).toBe(200);
    await backdate(24 * 60);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await stateOf(retried)).toMatchObject({ state: 'FAILED', attempt: 3 });
    expect(await stateOf(refused)).toMatchObject({ state: 'FAILED', attempt: 1 });
    await expectCountersKept(id);
  });

  it("a retried execution's earlier admission still counts against the rate's 60 s window", async () => {
    const [only] = (await enrolled(1, 'rate')) as [string];
    const started = await launch({
      target: { deviceIds: [only] },
      phases: onePhase,
      rollout: { maxPerMinute: 1, perGatewayConcurrency: 50 },
      retry: { max: 2, backoffMinutes: 1, codes: ['DOWNLOAD_*'] },
      abort: lenient,
    });
    const id = started.campaignId;
    const directive = (await checkIn(only))!;
    expect(
      (
        await device(only).status(directive.executionId, {
          state: 'FAILED',
          attempt: 1,
          seq: 1,
          failureCode: 'DOWNLOAD_HTTP_500',
        })
      ).status,
    ).toBe(200);
    await h.db
      .updateTable('executions')
      .set({ stage_entered_at: new Date(Date.now() - 90_000) })
      .where('execution_id', '=', directive.executionId)
      .execute();
    await waitFor(async () => ((await devicesOf(id))[0]!.attempt === 2 ? true : undefined), 'requeued');
    // Its first admission was seconds ago: at 1 a minute, the retry waits for the window to slide.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await devicesOf(id))[0]!.admittedAt).toBeNull();
    await h.db
      .updateTable('campaign_admissions')
      .set({ admitted_at: new Date(Date.now() - 61_000) })
      .where('campaign_id', '=', id)
      .execute();
    await waitFor(
      async () => ((await devicesOf(id))[0]!.admittedAt ? true : undefined),
      'admitted after 60 s',
    );
    await expectCountersKept(id);
  });

  it('records check-ins coarsely; a meter silent too long leaves the phase denominator and is listed until it reports', async () => {
    const ids = await enrolled(4, 'overdue');
    const started = await launch({
      target: { deviceIds: ids },
      phases: [
        { name: 'p1', size: { count: 3 }, minSoakMinutes: 0, successThresholdPercent: 100 },
        { name: 'p2', size: { percent: 100 }, minSoakMinutes: 0, successThresholdPercent: 100 },
      ],
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      abort: lenient,
    });
    const id = started.campaignId;
    const phase1 = (await devicesOf(id)).filter((d) => d.phase === 1).map((d) => d.deviceId);
    const [done, slow, silent] = phase1 as [string, string, string];
    const lastCheckIn = async (meter: string) =>
      (
        await h.db
          .selectFrom('devices')
          .select('last_check_in_at')
          .where('tenant_id', '=', tenantId)
          .where('device_id', '=', meter)
          .executeTakeFirstOrThrow()
      ).last_check_in_at;
    const dd = (await checkIn(done))!;
    const recorded = await lastCheckIn(done);
    expect(recorded).not.toBeNull();
    // Not a write per check-in: the next ones leave the record as it was.
    await checkIn(done);
    await checkIn(done);
    expect(await lastCheckIn(done)).toEqual(recorded);
    expect((await receipt(done, dd)).status).toBe(200);
    await checkIn(slow);
    expect(await lastCheckIn(silent)).toBeNull();

    // The phase opened long ago (moved back, not the clock): the silent meter is overdue; the slow one
    // checked in, so 1 of 2 succeeded and the phase still waits.
    await h.db
      .updateTable('campaign_phases')
      .set({ activated_at: new Date(Date.now() - 3 * 3_600_000) })
      .where('campaign_id', '=', id)
      .where('phase', '=', 1)
      .execute();
    const overdueOf = async () => (await read(id)).phases[0]!.overdue;
    expect(await overdueOf()).toEqual({ count: 1, deviceIds: [silent] });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await read(id)).phases.map((p) => p.state)).toEqual(['ACTIVE', 'PENDING']);

    // The slow one succeeds: 2 of the 2 that still check in → phase 2 opens without the silent meter.
    expect((await receipt(slow, (await checkIn(slow))!)).status).toBe(200);
    await waitFor(
      async () => ((await read(id)).phases[1]!.state === 'ACTIVE' ? true : undefined),
      'phase 2 opened over the meters that check in',
    );
    expect((await read(id)).phases[0]!.overdue).toBeUndefined();
    await expectCountersKept(id);

    // Another campaign's silent meter reports again: it leaves the overdue list.
    const more = await enrolled(2, 'back');
    const second = await launch({
      target: { deviceIds: more },
      phases: onePhase,
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      abort: lenient,
    });
    await h.db
      .updateTable('campaign_phases')
      .set({ activated_at: new Date(Date.now() - 3 * 3_600_000) })
      .where('campaign_id', '=', second.campaignId)
      .execute();
    const listed = async () => (await read(second.campaignId)).phases[0]!.overdue;
    expect((await listed())!.deviceIds.sort()).toEqual([...more].sort());
    await checkIn(more[0]!);
    expect(await listed()).toEqual({ count: 1, deviceIds: [more[1]] });
  });
});
