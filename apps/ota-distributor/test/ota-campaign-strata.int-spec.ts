import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ENROLLMENT_DEVICES,
  OTA_CAMPAIGNS_V2,
  type FirmwareManifestView,
  type HttpErrorBody,
  type OtaCampaignDeviceView,
  type OtaCampaignSimulation,
  type OtaCampaignView,
  type OtaCheckInAnswer,
} from '@meterkeep/contracts';
import { signManifest } from '@meterkeep/firmware';
import { planMembership } from '../src/campaigns/domain/membership';
import {
  EnrollmentProcess,
  type OtaDeviceClient,
  OtaHarness,
  TopicTap,
  appManifest,
  testKafka,
  waitUntil,
  countersAndRecount,
} from './ota-test-kit';

// Issue #13 on the real stack: membership stratified by the hardware revision meters report at
// check-in (simulate counts it per revision); dynamic campaigns gain the meters a registry change makes
// targets, in their last phase, under the campaign's admission; a campaign whose manifest was revoked
// after approval never starts. Setup as ota-campaign-rules.int-spec.ts.

const VENDOR = 'acme-meters';
const rand = () => randomBytes(3).toString('hex');
type Answer = OtaCampaignView & Partial<HttpErrorBody>;
type Page = { items: OtaCampaignDeviceView[]; next?: string } & Partial<HttpErrorBody>;

describe('ota-distributor: hardware-revision strata, dynamic joiners, revoked manifests at start', () => {
  let enrollment: EnrollmentProcess;
  let h: OtaHarness;
  let campaignTap: TopicTap;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let approver: string;
  let auditor: string;
  const classId = `em330-${rand()}`;
  const root = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const image = randomBytes(16 * 1024);
  let m1: FirmwareManifestView;
  let nextSequence = 3;
  const devices = new Map<string, OtaDeviceClient>();

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
  const registryRecord = (tenant: string, deviceId: string, gatewayId?: string) => ({
    eventId: globalThis.crypto.randomUUID(),
    tenantId: tenant,
    occurredAt: new Date().toISOString(),
    deviceId,
    status: 'ACTIVE' as const,
    credential: { kind: 'certificate' as const, fingerprintSha256: randomBytes(32).toString('hex') },
    classId,
    ...(gatewayId !== undefined && { gatewayId }),
  });
  /** Meters enrolled as enrollment publishes them, behind `gatewayId`. */
  const enrolled = async (n: number, label: string, gatewayId?: string, tenant = tenantId) => {
    const ids = Array.from({ length: n }, (_, i) => `MTR-${label}-${rand()}-${String(i).padStart(3, '0')}`);
    await h.publish(
      ENROLLMENT_DEVICES,
      ...ids.map((deviceId) => registryRecord(tenant, deviceId, gatewayId)),
    );
    for (const id of ids) {
      await h.waitForDevice(tenant, id, 'ACTIVE');
      devices.set(id, h.device(h.meter(tenant, id)));
    }
    return ids;
  };
  const checkIn = async (id: string, hardwareRevision?: string) => {
    const answer = await devices.get(id)!.checkIn({
      installed: 'none',
      seq: '0',
      slot: 'A',
      ...(hardwareRevision !== undefined && { hardwareRevision }),
    });
    expect(answer.status).toBe(200);
    return (answer.body as unknown as OtaCheckInAnswer).directive?.directive as
      { executionId: string; campaignId: string } | undefined;
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
  /** Created, submitted and approved by a second person. */
  async function approved(json: Record<string, unknown>): Promise<string> {
    const created = await create(json);
    expect(created.status, created.text).toBe(201);
    const id = created.body.campaignId;
    expect((await act(id, 'submit')).status).toBe(200);
    expect((await act(id, 'approve', approver)).status).toBe(200);
    return id;
  }
  async function launch(json: Record<string, unknown>): Promise<string> {
    const id = await approved(json);
    const started = await act(id, 'start');
    expect(started.status, started.text).toBe(200);
    return id;
  }
  const onePhase = [{ name: 'all', size: { percent: 100 }, minSoakMinutes: 0, successThresholdPercent: 100 }];
  const lenient = [{ scope: 'campaign', failureTypes: ['FAILED'], thresholdCount: 1000, minExecuted: 1000 }];
  const waitFor = <T>(probe: () => Promise<T | undefined>, description: string) =>
    waitUntil(probe, { timeoutMs: 20_000, description });
  async function accept(): Promise<FirmwareManifestView> {
    const sequenceNumber = nextSequence++;
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
  const revoke = async (manifestId: string) =>
    expect(
      (await h.request('POST', `/v1/firmware/manifests/${manifestId}/revoke`, { key: admin })).status,
    ).toBe(200);

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('ota-strata');
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
    campaignTap = await TopicTap.open(testKafka(), OTA_CAMPAIGNS_V2);
    await h.prepareRelease({ admin, operator, classId, vendorId: VENDOR, authority: root.publicKey, image });
    m1 = await accept();
  });

  afterAll(async () => {
    await campaignTap?.close();
    await h?.stop();
    await enrollment?.stop();
  });

  it('every phase takes its share of each hardware revision the meters reported at check-in; simulate counts them', async () => {
    const gateway = `GW-${rand()}`;
    const ids = await enrolled(40, 'strata', gateway);
    // 20 meters of rev-a, 20 of rev-b, as each says at its check-in (an older meter saying nothing keeps it).
    const revisionOf = new Map(ids.map((id, i) => [id, i % 2 === 1 ? 'rev-b' : 'rev-a']));
    for (const id of ids) await checkIn(id, revisionOf.get(id));
    await checkIn(ids[0]!);
    // A revision outside the contract's alphabet is refused, and the recorded one stays.
    const refused = await devices
      .get(ids[1]!)!
      .checkIn({ installed: 'none', seq: '0', slot: 'A', hardwareRevision: 'rev b/2' });
    expect(refused.status).toBe(400);
    expect((refused.body as unknown as HttpErrorBody).code).toBe('INVALID_REQUEST');
    const stored = await h.db
      .selectFrom('devices')
      .select(['device_id', 'hardware_revision'])
      .where('tenant_id', '=', tenantId)
      .where('device_id', 'in', ids)
      .execute();
    expect(new Map(stored.map((d) => [d.device_id, d.hardware_revision]))).toEqual(revisionOf);

    // Eight phases of four, then the rest: each takes two of each revision (by hash order alone, all
    // eight would split 2/2 in about one campaign of two thousand).
    const phases = [
      ...Array.from({ length: 8 }, (_, i) => ({
        name: `four-${i + 1}`,
        size: { count: 4 },
        minSoakMinutes: 0,
        successThresholdPercent: 100,
      })),
      { name: 'rest', size: { percent: 100 }, minSoakMinutes: 0, successThresholdPercent: 100 },
    ];
    const id = await approved({
      target: { query: { gatewayIds: [gateway] } },
      phases,
      rollout: { maxPerMinute: 1, perGatewayConcurrency: 1 },
      abort: lenient,
    });
    const simulated = await h.request<OtaCampaignSimulation & Partial<HttpErrorBody>>(
      'POST',
      `/v1/campaigns/${id}/simulate`,
      { key: auditor },
    );
    expect(simulated.status, simulated.text).toBe(200);
    expect(simulated.body.byHardwareRevision).toEqual([
      { hardwareRevision: 'rev-a', devices: 20, phaseDevices: [2, 2, 2, 2, 2, 2, 2, 2, 4] },
      { hardwareRevision: 'rev-b', devices: 20, phaseDevices: [2, 2, 2, 2, 2, 2, 2, 2, 4] },
    ]);

    expect((await act(id, 'start')).status).toBe(200);
    const members = await devicesOf(id);
    const inPhase = (phase: number) => members.filter((m) => m.phase === phase).map((m) => m.deviceId);
    const perRevision = (phase: number) =>
      ['rev-a', 'rev-b'].map((r) => inPhase(phase).filter((d) => revisionOf.get(d) === r).length);
    expect(phases.map((_, index) => perRevision(index + 1))).toEqual([
      ...Array.from({ length: 8 }, () => [2, 2]),
      [4, 4],
    ]);
    // Exactly the domain's plan over (gateway, revision) strata: what start persisted.
    const plan = planMembership(
      id,
      ids.map((deviceId) => ({ deviceId, gatewayId: gateway, hardwareRevision: revisionOf.get(deviceId)! })),
      phases.map((p) => p.size),
    );
    expect(phases.map((_, index) => inPhase(index + 1).sort())).toEqual(
      plan.phases.map((p) => [...p].sort()),
    );
    await expectCountersKept(id);
  });

  it('a dynamic campaign gains, in its last phase and under its rate, the meters a registry change makes targets; no other campaign or tenant does', async () => {
    const dynamicGateway = `GW-${rand()}`;
    const staticGateway = `GW-${rand()}`;
    const [canary, first] = (await enrolled(2, 'dyn', dynamicGateway)) as [string, string];
    const [staticMember] = (await enrolled(1, 'static', staticGateway)) as [string];
    const [elsewhere] = (await enrolled(1, 'moving', `GW-${rand()}`)) as [string];
    const dynamicId = await launch({
      target: { query: { gatewayIds: [dynamicGateway] }, dynamic: true },
      phases: [
        { name: 'canary', size: { deviceIds: [canary] }, minSoakMinutes: 0, successThresholdPercent: 100 },
        { name: 'rest', size: { percent: 100 }, minSoakMinutes: 0, successThresholdPercent: 100 },
      ],
      // Two a minute: the canary and the first of the last phase; a joiner waits for the window.
      rollout: { maxPerMinute: 2, perGatewayConcurrency: 50 },
      abort: lenient,
    });
    const staticId = await launch({
      target: { query: { gatewayIds: [staticGateway] } },
      phases: onePhase,
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      abort: lenient,
    });
    expect((await devicesOf(dynamicId)).map((m) => [m.deviceId, m.phase]).sort()).toEqual(
      [
        [canary, 1],
        [first, 2],
      ].sort(),
    );

    // New meters of the class: behind the dynamic campaign's gateway (joins), behind the static one's
    // (a non-dynamic campaign never gains members), and another tenant's behind the dynamic gateway.
    const [joiner] = (await enrolled(1, 'joiner', dynamicGateway)) as [string];
    const [notJoining] = (await enrolled(1, 'nojoin', staticGateway)) as [string];
    const other = await enrollment.tenant();
    const [foreign] = (await enrolled(1, 'foreign', dynamicGateway, other.tenantId)) as [string];
    // An enrolled meter moved behind the dynamic gateway: its registry change makes it a target.
    await h.publish(ENROLLMENT_DEVICES, registryRecord(tenantId, elsewhere, dynamicGateway));
    const joined = await waitFor(async () => {
      const members = await devicesOf(dynamicId);
      return members.some((m) => m.deviceId === elsewhere) ? members : undefined;
    }, 'the moved meter joins');
    expect(joined.map((m) => [m.deviceId, m.phase, m.state]).sort()).toEqual(
      [
        [canary, 1, 'QUEUED'],
        [first, 2, 'QUEUED'],
        [joiner, 2, 'QUEUED'],
        [elsewhere, 2, 'QUEUED'],
      ].sort(),
    );
    expect((await devicesOf(staticId)).map((m) => m.deviceId)).toEqual([staticMember]);
    for (const outsider of [notJoining, foreign])
      expect(
        await h.db
          .selectFrom('executions')
          .select('execution_id')
          .where('device_id', '=', outsider)
          .execute(),
      ).toEqual([]);
    const view = await read(dynamicId);
    expect(view.phases.map((p) => p.targets)).toEqual([1, 3]);
    // A replayed record changes nothing: still one execution each.
    await h.publish(ENROLLMENT_DEVICES, registryRecord(tenantId, joiner, dynamicGateway));
    await h.waitForDevice(tenantId, joiner, 'ACTIVE');
    expect(
      await h.db.selectFrom('executions').select('execution_id').where('device_id', '=', joiner).execute(),
    ).toHaveLength(1);

    // The canary is admitted at start; opening the last phase admits one more (the rate's two a
    // minute); the rest wait for the window like any member.
    expect((await act(dynamicId, 'next-phase')).status).toBe(200);
    const admittedNow = await waitFor(async () => {
      const admitted = (await devicesOf(dynamicId)).filter((m) => m.admittedAt !== null);
      return admitted.length === 2 ? admitted : undefined;
    }, 'two admitted');
    expect(admittedNow.map((m) => m.deviceId)).toContain(canary);
    const waiting = [first, joiner, elsewhere].filter((d) => !admittedNow.some((m) => m.deviceId === d));
    expect(waiting).toHaveLength(2);
    await h.db
      .updateTable('campaign_admissions')
      .set({ admitted_at: new Date(Date.now() - 61_000) })
      .where('campaign_id', '=', dynamicId)
      .execute();
    await waitFor(async () => {
      const admitted = (await devicesOf(dynamicId)).filter((m) => m.admittedAt !== null);
      return admitted.length === 4 ? true : undefined;
    }, 'all four admitted after the window');
    const directive = await checkIn(joiner);
    expect(directive?.campaignId).toBe(dynamicId);
    await expectCountersKept(dynamicId);
    await expectCountersKept(staticId);
  });

  it('a campaign whose manifest was revoked after approval never starts: 409 at start, halted at its scheduled time', async () => {
    const [manual, scheduled] = (await enrolled(2, 'revoked')) as [string, string];
    const revocable = await accept();
    const manualId = await approved({
      manifestId: revocable.manifestId,
      target: { deviceIds: [manual] },
      phases: onePhase,
    });
    const startAt = new Date(Date.now() + 4_000).toISOString();
    const scheduledId = await approved({
      manifestId: revocable.manifestId,
      target: { deviceIds: [scheduled] },
      phases: onePhase,
      startAt,
    });
    const scheduling = await act(scheduledId, 'start');
    expect(scheduling.status, scheduling.text).toBe(200);
    expect(scheduling.body.state).toBe('SCHEDULED');
    await revoke(revocable.manifestId);

    const refused = await act(manualId, 'start');
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('MANIFEST_REVOKED');
    expect((await read(manualId)).state).toBe('APPROVED');
    expect(
      await h.db
        .selectFrom('executions')
        .select('execution_id')
        .where('campaign_id', '=', manualId)
        .execute(),
    ).toEqual([]);

    const halted = await waitFor(async () => {
      const view = await read(scheduledId);
      return view.state === 'HALTED' ? view : undefined;
    }, 'the scheduled campaign halts at its start time');
    expect(halted).toMatchObject({ haltCode: 'MANIFEST_REVOKED', haltReason: null });
    expect(halted.phases[0]!.state).toBe('PENDING');
    const [event] = await campaignTap.waitFor(
      (r) => r.json.campaignId === scheduledId && r.json.type === 'halted',
      1,
      'halted event',
    );
    expect(event!.json).toMatchObject({ haltCode: 'MANIFEST_REVOKED' });
    // Ticks go on: still one halted event, never a started one, and no directive for its meter.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const of = (type: string) =>
      campaignTap.records.filter((r) => r.json.campaignId === scheduledId && r.json.type === type);
    expect(of('halted')).toHaveLength(1);
    expect(of('started')).toHaveLength(0);
    expect(await checkIn(scheduled)).toBeUndefined();
    const resumed = await act(scheduledId, 'resume', operator, { acknowledgeHalt: true });
    expect(resumed.status).toBe(409);
    expect(resumed.body.code).toBe('MANIFEST_REVOKED');
    await expectCountersKept(scheduledId);
  });
});
