import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_EVENTS,
  ENROLLMENT_DEVICES,
  OTA_CAMPAIGNS_V2,
  type FirmwareManifestView,
  type HttpErrorBody,
  OTA_DEVICE_STATUS_V2,
  type OtaCampaignDeviceView,
  type OtaCampaignSimulation,
  type OtaCampaignView,
  type OtaCheckInAnswer,
} from '@meterkeep/contracts';
import { signManifest } from '@meterkeep/firmware';
import { sql } from 'kysely';
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

// Issue #13 on the real stack: a manifest's revocation halts its running campaigns (MANIFEST_REVOKED,
// never resumed); abort rules count a retried failure only once its retries are spent (the final
// outcome, as AWS IoT Jobs' abort criteria do); simulate predicts admission with each gateway's
// concurrency and bytes per hour; the counters are sharded (migration 0012): two status changes of
// one campaign in different counter slots never wait for each other, and concurrent outcomes still
// halt exactly once, at the crossing. Setup as ota-campaign-gating.int-spec.ts.

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

describe('ota-distributor: campaign halts on revocation and final outcomes; simulated gateway limits', () => {
  let enrollment: EnrollmentProcess;
  let h: OtaHarness;
  let statusTap: TopicTap;
  let campaignTap: TopicTap;
  let auditTap: TopicTap;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let approver: string;
  let auditor: string;
  const classId = `em320-${rand()}`;
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
  async function accept(sequenceNumber: number): Promise<FirmwareManifestView> {
    const signed = signManifest(appManifest({ vendorId: VENDOR, classId, image, sequenceNumber }), [
      { privateKey: root.privateKey },
    ]);
    const accepted = await fetch(`${h.url}/v1/firmware/manifests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: signed.envelopeBytes,
    });
    expect(accepted.status).toBe(201);
    return (await accepted.json()) as FirmwareManifestView;
  }
  const fail = (meter: string, executionId: string, attempt: number, failureCode: string) =>
    device(meter).status(executionId, { state: 'FAILED', attempt, seq: attempt, failureCode });
  const backdateFailure = (executionIds: string[], minutes: number) =>
    h.db
      .updateTable('executions')
      .set({ stage_entered_at: new Date(Date.now() - minutes * 60_000) })
      .where('execution_id', 'in', executionIds)
      .execute();
  const simulate = (campaignId: string) =>
    h.request<OtaCampaignSimulation & Partial<HttpErrorBody>>(
      'POST',
      `/v1/campaigns/${campaignId}/simulate`,
      {
        key: auditor,
      },
    );
  const admittedOf = async (campaignId: string) =>
    (await devicesOf(campaignId)).filter((d) => d.admittedAt !== null).map((d) => d.deviceId);

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('ota-rules');
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
    campaignTap = await TopicTap.open(testKafka(), OTA_CAMPAIGNS_V2);
    auditTap = await TopicTap.open(testKafka(), AUDIT_EVENTS);
    await h.prepareRelease({ admin, operator, classId, vendorId: VENDOR, authority: root.publicKey, image });
    m1 = await accept(3);
  });

  afterAll(async () => {
    await statusTap?.close();
    await campaignTap?.close();
    await auditTap?.close();
    await h?.stop();
    await enrollment?.stop();
  });

  it('revoking a manifest halts its running and paused campaigns (MANIFEST_REVOKED): no admission after, never resumed', async () => {
    const revocable = await accept(5);
    const [idle, installing, retrying, queued, paused, drafted] = (await enrolled(6, 'revoke')) as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const retry = { max: 2, backoffMinutes: 1, codes: ['DOWNLOAD_*'] };
    const running = await launch({
      manifestId: revocable.manifestId,
      target: { deviceIds: [idle, installing, retrying, queued] },
      phases: onePhase,
      // Three a minute: the fourth member waits in the queue.
      rollout: { maxPerMinute: 3, perGatewayConcurrency: 50 },
      retry,
      abort: lenient,
    });
    const pausedCampaign = await launch({
      manifestId: revocable.manifestId,
      target: { deviceIds: [paused] },
      phases: onePhase,
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      abort: lenient,
    });
    expect((await act(pausedCampaign.campaignId, 'pause')).body.state).toBe('PAUSED');
    const draft = await create({
      manifestId: revocable.manifestId,
      target: { deviceIds: [drafted] },
      phases: onePhase,
    });
    expect(draft.status).toBe(201);
    const id = running.campaignId;
    const admitted = await admittedOf(id);
    expect(admitted).toHaveLength(3);
    const [first, second, third] = admitted as [string, string, string];
    const installingDirective = (await checkIn(first))!;
    expect(
      (
        await device(first).status(installingDirective.executionId, {
          state: 'INSTALLING',
          attempt: 1,
          seq: 1,
        })
      ).status,
    ).toBe(200);
    const retryDirective = (await checkIn(second))!;
    expect((await fail(second, retryDirective.executionId, 1, 'DOWNLOAD_HTTP_503')).status).toBe(200);
    const admissionsBefore = await h.db
      .selectFrom('campaign_admissions')
      .select('execution_id')
      .where('campaign_id', '=', id)
      .execute();

    const revoked = await h.request('POST', `/v1/firmware/manifests/${revocable.manifestId}/revoke`, {
      key: admin,
    });
    expect(revoked.status).toBe(200);

    for (const campaignId of [id, pausedCampaign.campaignId]) {
      const view = await read(campaignId);
      expect(view.state).toBe('HALTED');
      expect(view).toMatchObject({ haltCode: 'MANIFEST_REVOKED', haltReason: null });
      const [event] = await campaignTap.waitFor(
        (r) => r.json.campaignId === campaignId && r.json.type === 'halted',
        1,
        `halted of ${campaignId}`,
      );
      expect(event!.json).toMatchObject({
        haltCode: 'MANIFEST_REVOKED',
        manifestDigest: revocable.manifestDigest,
      });
      expect(event!.json.reason).toBeUndefined();
      const [audit] = await auditTap.waitFor(
        (r) => r.json.action === 'ota.campaign-halted' && r.json.subject === campaignId,
        1,
        `audit halt of ${campaignId}`,
      );
      expect((audit!.json as { detail: unknown }).detail).toMatchObject({ code: 'MANIFEST_REVOKED' });
    }
    expect((await read(draft.body.campaignId)).state).toBe('DRAFT');
    const [revokeAudit] = await auditTap.waitFor(
      (r) => r.json.action === 'ota.manifest-revoked' && r.json.subject === revocable.manifestId,
      1,
      'manifest revoked audit',
    );
    expect((revokeAudit!.json as { detail: unknown }).detail).toMatchObject({ campaignsHalted: 2 });

    // The failure the policy would retry is not re-queued, however long ago it failed; nothing more
    // is admitted; the install under way goes on.
    await backdateFailure([retryDirective.executionId], 60);
    await h.db
      .updateTable('campaign_admissions')
      .set({ admitted_at: new Date(Date.now() - 3_601_000) })
      .where('campaign_id', '=', id)
      .execute();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const states = Object.fromEntries((await devicesOf(id)).map((d) => [d.deviceId, d]));
    expect(states[second]).toMatchObject({ state: 'FAILED', attempt: 1 });
    expect(states[first]!.state).toBe('INSTALLING');
    expect(states[third]!.state).toBe('CANCELLED');
    const left = [idle, installing, retrying, queued].find((d) => !admitted.includes(d))!;
    expect(states[left]).toMatchObject({ state: 'CANCELLED', admittedAt: null });
    expect(
      await h.db
        .selectFrom('campaign_admissions')
        .select('execution_id')
        .where('campaign_id', '=', id)
        .execute(),
    ).toHaveLength(admissionsBefore.length);
    expect(await checkIn(left)).toBeUndefined();

    // No acknowledgement resumes it.
    const resumed = await act(id, 'resume', operator, { acknowledgeHalt: true });
    expect(resumed.status).toBe(409);
    expect(resumed.body.code).toBe('MANIFEST_REVOKED');
    expect((await read(id)).state).toBe('HALTED');
    await expectCountersKept(id);
    await expectCountersKept(pausedCampaign.campaignId);
  });

  it('counts a retried failure toward the halt only when its retries are spent (its final outcome)', async () => {
    const [meter] = (await enrolled(1, 'final')) as [string];
    const started = await launch({
      target: { deviceIds: [meter] },
      phases: onePhase,
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      retry: { max: 1, backoffMinutes: 1, codes: ['DOWNLOAD_*'] },
      abort: [{ scope: 'phase', failureTypes: ['FAILED'], thresholdCount: 1, minExecuted: 1 }],
    });
    const id = started.campaignId;
    const first = (await checkIn(meter))!;
    // Attempt 1 fails with a code the policy retries: not an outcome yet, no halt.
    expect((await fail(meter, first.executionId, 1, 'DOWNLOAD_HTTP_503')).status).toBe(200);
    expect((await read(id)).state).toBe('RUNNING');
    expect(
      await h.db.selectFrom('campaign_halts').selectAll().where('campaign_id', '=', id).execute(),
    ).toHaveLength(0);
    await backdateFailure([first.executionId], 1.5);
    await waitFor(
      async () =>
        (await devicesOf(id))[0]!.attempt === 2 && (await devicesOf(id))[0]!.admittedAt ? true : undefined,
      'attempt 2 admitted',
    );
    expect((await read(id)).state).toBe('RUNNING');
    const second = (await checkIn(meter))!;
    expect(second.executionId).toBe(first.executionId);
    // Attempt 2 (the last the policy allows) fails: the final outcome crosses the rule.
    expect((await fail(meter, first.executionId, 2, 'DOWNLOAD_HTTP_503')).status).toBe(200);
    const halted = await read(id);
    expect(halted.state).toBe('HALTED');
    expect(halted.haltReason).toEqual({ rule: 0, phase: 1, failed: 1, executed: 1 });
    expect(halted.haltCode).toBe('ABORT_RULE');
    await expectCountersKept(id);
  });

  it('two status changes of one campaign in different counter slots commit without waiting for each other', async () => {
    const ids = await enrolled(6, 'slots');
    const started = await launch({
      target: { deviceIds: ids },
      phases: onePhase,
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      abort: lenient,
    });
    const id = started.campaignId;
    await waitFor(
      async () => ((await admittedOf(id)).length === ids.length ? true : undefined),
      'all admitted',
    );
    for (const meter of ids) expect(await checkIn(meter)).toBeDefined();
    const executions = await h.db
      .selectFrom('executions')
      .select(['execution_id', sql<number>`campaign_count_slot(execution_id)`.as('slot')])
      .where('campaign_id', '=', id)
      .where('state', '=', 'NOTIFIED')
      .execute();
    expect(executions).toHaveLength(ids.length);
    const first = executions[0]!;
    // Six ids all in one of 32 slots: (1/32)^5, never in practice.
    const second = executions.find((e) => e.slot !== first.slot)!;
    expect(second).toBeDefined();
    // Each change as a status makes it: NOTIFIED → DOWNLOADING, its counters moved by the trigger.
    const download = (trx: typeof h.db, executionId: string) =>
      trx
        .updateTable('executions')
        .set({ state: 'DOWNLOADING' })
        .where('execution_id', '=', executionId)
        .where('state', '=', 'NOTIFIED')
        .executeTakeFirstOrThrow();
    /** Locks the counter rows of both states in a slot, failing at once (55P03) if another holds one. */
    const lockSlotNowait = (trx: typeof h.db, slot: number) =>
      sql`select count from campaign_phase_counts
          where campaign_id = ${id} and phase = 1 and state in ('NOTIFIED', 'DOWNLOADING') and slot = ${slot}
          for update nowait`.execute(trx);

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let moved!: () => void;
    const firstMoved = new Promise<void>((resolve) => (moved = resolve));
    // The first change holds its counter rows, uncommitted, until released.
    const held = h.db.transaction().execute(async (trx) => {
      await download(trx, first.execution_id);
      moved();
      await released;
    });
    try {
      await firstMoved;
      // The second change needs none of the rows the first holds: it locks its own without waiting,
      // moves its counters and commits while the first is still open.
      await h.db.transaction().execute(async (trx) => {
        await lockSlotNowait(trx, second.slot);
        await download(trx, second.execution_id);
      });
      // The check is not vacuous: the first change's slot is held (one counter row per state, as
      // before migration 0012, would have made every status of the campaign wait here).
      await expect(
        h.db.transaction().execute((trx) => lockSlotNowait(trx, first.slot)),
      ).rejects.toMatchObject({
        code: '55P03',
      });
    } finally {
      release();
      await held;
    }
    const { kept, recount } = await countersAndRecount(h.db, id, { slots: true });
    expect(kept).toEqual(recount);
    expect(kept.filter((k) => k.state === 'DOWNLOADING').reduce((n, k) => n + k.count, 0)).toBe(2);
    await expectCountersKept(id);
  });

  it('concurrent outcomes of one campaign halt it exactly once, at the crossing', async () => {
    const ids = await enrolled(8, 'burst');
    const started = await launch({
      target: { deviceIds: ids },
      phases: onePhase,
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      abort: [{ scope: 'phase', failureTypes: ['FAILED'], thresholdCount: 3, minExecuted: 3 }],
    });
    const id = started.campaignId;
    await waitFor(
      async () => ((await admittedOf(id)).length === ids.length ? true : undefined),
      'all admitted',
    );
    const directives = await Promise.all(ids.map(async (meter) => [meter, (await checkIn(meter))!] as const));
    // All eight fail at once: their outcomes are judged one after another under the campaign's lock,
    // each on the sum of the counter slots with the earlier ones' counts committed.
    const answers = await Promise.all(
      directives.map(([meter, d]) => fail(meter, d.executionId, 1, 'BOOT_VERIFY_FAILED')),
    );
    expect(answers.map((a) => a.status)).toEqual(ids.map(() => 200));
    const halted = await read(id);
    expect(halted.state).toBe('HALTED');
    expect(halted.haltReason).toEqual({ rule: 0, phase: 1, failed: 3, executed: 3 });
    expect(
      await h.db.selectFrom('campaign_halts').selectAll().where('campaign_id', '=', id).execute(),
    ).toHaveLength(1);
    await statusTap.waitFor(
      (r) => r.json.campaignId === id && r.json.state === 'FAILED',
      ids.length,
      `FAILED statuses of ${id}`,
    );
    await campaignTap.waitFor(
      (r) => r.json.campaignId === id && r.json.type === 'halted',
      1,
      `halted of ${id}`,
    );
    expect(
      campaignTap.records.filter((r) => r.json.campaignId === id && r.json.type === 'halted'),
    ).toHaveLength(1);
    const { kept, recount } = await countersAndRecount(h.db, id, { slots: true });
    expect(kept).toEqual(recount);
  });

  it("simulate predicts admission under each gateway's concurrency and bytes per hour, as admission does", async () => {
    const gateway = `GW-${rand()}`;
    const behind = await enrolled(5, 'simgw', gateway);
    const direct = await enrolled(2, 'simdirect');
    // Concurrency 2: the gateway's five meters take three minutes, the direct ones one.
    const concurrent = await create({
      target: { deviceIds: [...behind, ...direct] },
      phases: onePhase,
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 2 },
      abort: lenient,
    });
    expect(concurrent.status, concurrent.text).toBe(201);
    const byConcurrency = await simulate(concurrent.body.campaignId);
    expect(byConcurrency.status, byConcurrency.text).toBe(200);
    expect(byConcurrency.body.phases[0]).toMatchObject({ devices: 7, notifyMinutes: 3 });
    const perDevice = byConcurrency.body.bytes.perDevice;
    expect(perDevice).toBeGreaterThan(0);

    // Room for two downloads an hour: two now, two an hour later (minute 61).
    const bytesGateway = `GW-${rand()}`;
    const budgeted = await enrolled(4, 'simbytes', bytesGateway);
    const byBytes = await create({
      target: { query: { gatewayIds: [bytesGateway] } },
      phases: onePhase,
      rollout: {
        maxPerMinute: 100,
        perGatewayConcurrency: 50,
        perGatewayBytesPerHour: Math.floor(2.5 * perDevice),
      },
      abort: lenient,
    });
    expect(byBytes.status, byBytes.text).toBe(201);
    const simulated = await simulate(byBytes.body.campaignId);
    expect(simulated.status).toBe(200);
    expect(simulated.body.phases[0]).toMatchObject({ devices: budgeted.length, notifyMinutes: 61 });
    expect(simulated.body.duration.notifyMinutes).toBe(61);

    // One download larger than the whole budget: admission never lets those meters out, and says so.
    const tooSmall = await create({
      target: { query: { gatewayIds: [bytesGateway] } },
      phases: onePhase,
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50, perGatewayBytesPerHour: perDevice - 1 },
      abort: lenient,
    });
    const never = await simulate(tooSmall.body.campaignId);
    expect(never.status).toBe(200);
    expect(never.body.phases[0]).toMatchObject({ devices: 4, notifyMinutes: 0 });
    expect(never.body.assumptions.some((a) => a.startsWith('4 members are left out'))).toBe(true);

    // The real admission of the concurrency campaign agrees: two of the gateway's meters at first.
    expect((await act(concurrent.body.campaignId, 'submit')).status).toBe(200);
    expect((await act(concurrent.body.campaignId, 'approve', approver)).status).toBe(200);
    expect((await act(concurrent.body.campaignId, 'start')).status).toBe(200);
    const admitted = await admittedOf(concurrent.body.campaignId);
    expect(admitted.filter((d) => behind.includes(d))).toHaveLength(2);
    expect(admitted.filter((d) => direct.includes(d))).toHaveLength(2);
  });
});
