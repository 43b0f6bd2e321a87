import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FirmwareManifestView,
  type HttpErrorBody,
  OTA_CAMPAIGNS_V2,
  OTA_DEVICE_STATUS_V2,
  type OtaCampaignDeviceView,
  type OtaCampaignSimulation,
  type OtaCampaignV2Event,
  type OtaCampaignView,
  type OtaCheckInAnswer,
  type OtaDeviceStatusV2Event,
} from '@meterkeep/contracts';
import { checkManifestForDevice, signReceipt, verifyManifestEnvelope } from '@meterkeep/firmware';
import {
  EnrollmentProcess,
  type OtaDeviceClient,
  OtaHarness,
  TopicTap,
  appManifest,
  countersAndRecount,
  testKafka,
  waitUntil,
} from './ota-test-kit';

// Issue #13, spec ota.md §6 item 3 on the real stack: a campaign's shadow run. Its twins (meters of
// the tenant and class, one per hardware revision of the targets) get the real signed manifest and
// image first, through check-in, directive, manifest, download URL, status and signed receipt; each
// twin verifies the manifest's signatures and the image's digest with libs/firmware as meter-sim's
// update engine does. Phase 1 opens only once every twin succeeded; a twin's failed boot halts the
// campaign for good with no fleet meter notified (raw ota.device-status.v2 records and the database).

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const VENDOR = 'acme-meters';
const rand = () => randomBytes(3).toString('hex');
type Answer = OtaCampaignView & Partial<HttpErrorBody> & { details?: Record<string, unknown> };
type Directive = { executionId: string; campaignId: string; nonce: string; manifestDigest: string };

describe('ota-distributor: campaign shadow run on twins before phase 1', () => {
  let enrollment: EnrollmentProcess;
  let h: OtaHarness;
  let campaignTap: TopicTap;
  let statusTap: TopicTap;
  let tenantId: string;
  let otherTenant: string;
  let operator: string;
  let approver: string;
  let auditor: string;
  const classId = `em300-${rand()}`;
  const root = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const image = randomBytes(16 * 1024);
  let m1: FirmwareManifestView;
  const devices = new Map<string, OtaDeviceClient>();

  const act = (campaignId: string, verb: string, key = operator, json?: Record<string, unknown>) =>
    h.request<Answer>('POST', `/v1/campaigns/${campaignId}/${verb}`, {
      key,
      ...(json !== undefined && { json }),
    });
  const read = async (campaignId: string) =>
    (await h.request<Answer>('GET', `/v1/campaigns/${campaignId}`, { key: auditor })).body;
  /** Meters as enrollment publishes them (another tenant's or class's when asked). */
  const enrolled = async (n: number, label: string, tenant = tenantId, cls = classId) => {
    const ids = Array.from({ length: n }, (_, i) => `MTR-${label}-${rand()}-${i}`);
    await h.enroll(tenant, ids, cls);
    for (const id of ids) devices.set(id, h.device(h.meter(tenant, id)));
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
    return (answer.body as unknown as OtaCheckInAnswer).directive?.directive as Directive | undefined;
  };
  /** Meters of the class, each having reported its hardware revision at check-in. */
  const fleet = async (label: string, revisions: string[]) => {
    const ids = await enrolled(revisions.length, label);
    for (const [i, id] of ids.entries()) expect(await checkIn(id, revisions[i])).toBeUndefined();
    return ids;
  };

  /**
   * A twin's update as a meter runs it: the manifest's signatures checked against the tenant's root and
   * bound to the directive, the device checks, the image downloaded and its digest checked; then the
   * install reported, and booted (a signed receipt) or rolled back (its boot failed).
   */
  async function install(id: string, boots: boolean): Promise<void> {
    const directive = await waitUntil(() => checkIn(id), {
      timeoutMs: 20_000,
      description: `a directive for twin ${id}`,
    });
    const device = devices.get(id)!;
    const report = async (state: string, seq: number, extra = {}) =>
      expect((await device.status(directive.executionId, { state, attempt: 1, seq, ...extra })).status).toBe(
        200,
      );
    const manifest = await device.manifest(directive.executionId);
    expect(manifest.status).toBe(200);
    const verified = verifyManifestEnvelope(manifest.bytes, { rootPublicKeys: [root.publicKey] }, new Date());
    if (!verified.ok) throw new Error(`twin ${id} refused the manifest: ${verified.code}`);
    expect(verified.digest).toBe(directive.manifestDigest);
    expect(
      checkManifestForDevice(
        verified.manifest,
        { vendorId: VENDOR, classId, components: { app: { installedSequence: 0 } } },
        verified.digest,
        new Date(),
      ).ok,
    ).toBe(true);
    await report('DOWNLOADING', 1);
    const url = await device.downloadUrl(directive.executionId, { component: 'app', delta: false });
    expect(url.status).toBe(200);
    const bytes = Buffer.from(await (await fetch((url.body as { url: string }).url)).arrayBuffer());
    expect(sha256(bytes)).toBe(verified.manifest.components[0]!.digest.value);
    await report('DOWNLOADED', 2);
    await report('VERIFIED', 3);
    await report('INSTALLING', 4);
    await report('REBOOTING', 5);
    if (!boots) return report('ROLLED_BACK', 6, { failureCode: 'BOOT_VERIFY_FAILED' });
    await report('CONFIRMING', 6);
    const receipt = signReceipt(
      {
        deviceId: id,
        executionId: directive.executionId,
        manifestDigest: verified.digest,
        sequenceNumber: verified.manifest.sequenceNumber,
        bootedSlot: 'B',
        bootedImageDigests: { app: sha256(bytes) },
        confirmedAt: new Date().toISOString(),
        nonce: directive.nonce,
      },
      device.meter.privateKey,
    );
    expect((await device.receipt(directive.executionId, receipt)).status).toBe(200);
  }

  async function approved(json: Record<string, unknown>): Promise<string> {
    const created = await h.request<Answer>('POST', '/v1/campaigns', {
      key: operator,
      json: { name: `c-${rand()}`, manifestId: m1.manifestId, ...json },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.campaignId;
    expect((await act(id, 'submit')).status).toBe(200);
    expect((await act(id, 'approve', approver)).status).toBe(200);
    return id;
  }
  const phases = [
    { name: 'canary', size: { count: 2 }, minSoakMinutes: 0, successThresholdPercent: 100 },
    { name: 'rest', size: { percent: 100 }, minSoakMinutes: 0, successThresholdPercent: 100 },
  ];
  const campaignEvents = (campaignId: string) =>
    campaignTap.records
      .map((r) => r.json as unknown as OtaCampaignV2Event)
      .filter((e) => e.campaignId === campaignId);
  const statusRecords = (campaignId: string) =>
    statusTap.records
      .map((r) => r.json as unknown as OtaDeviceStatusV2Event)
      .filter((e) => e.campaignId === campaignId);
  const waitForCampaign = (id: string, done: (c: Answer) => boolean, what: string) =>
    waitUntil(
      async () => {
        const campaign = await read(id);
        return done(campaign) ? campaign : undefined;
      },
      { timeoutMs: 20_000, description: what },
    );

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('ota-shadow');
    h = await OtaHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      testMeterHeader: true,
      env: { OTA_CAMPAIGN_TICK_MS: '200' },
    });
    let admin: string;
    ({ tenantId, adminKey: admin } = await enrollment.tenant());
    otherTenant = (await enrollment.tenant()).tenantId;
    [operator, approver, auditor] = await Promise.all([
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'auditor'),
    ]);
    campaignTap = await TopicTap.open(testKafka(), OTA_CAMPAIGNS_V2);
    statusTap = await TopicTap.open(testKafka(), OTA_DEVICE_STATUS_V2);
    await h.prepareRelease({ admin, operator, classId, vendorId: VENDOR, authority: root.publicKey, image });
    m1 = await h.acceptManifest(
      operator,
      appManifest({ vendorId: VENDOR, classId, image, sequenceNumber: 7 }),
      root.privateKey,
    );
  });

  afterAll(async () => {
    await campaignTap?.close();
    await statusTap?.close();
    await h?.stop();
    await enrollment?.stop();
  });

  it('twins of both hardware revisions install the real signed image; phase 1 opens only after both succeed', async () => {
    const targets = await fleet('pass', ['rev-a', 'rev-a', 'rev-a', 'rev-b', 'rev-b', 'rev-b']);
    const [twinA, twinB] = await fleet('twin', ['rev-a', 'rev-b']);
    const id = await approved({
      target: { deviceIds: targets },
      phases,
      shadowRun: { twins: [twinA, twinB] },
    });
    const simulated = await h.request<OtaCampaignSimulation>('POST', `/v1/campaigns/${id}/simulate`, {
      key: auditor,
    });
    expect(simulated.body.targets).toBe(6);
    expect(simulated.body.shadow).toEqual({ covered: ['rev-a', 'rev-b'], missing: [], unknownTwins: [] });

    const started = await act(id, 'start');
    expect(started.status, started.text).toBe(200);
    // Twins are in no phase and no counter of the fleet.
    expect(started.body.shadow).toEqual({ state: 'ACTIVE', twins: 2, counts: { QUEUED: 2 } });
    expect(started.body.phases.map((p) => [p.state, p.targets])).toEqual([
      ['PENDING', 2],
      ['PENDING', 4],
    ]);
    expect(started.body.counts).toEqual({ QUEUED: 6 });
    // The devices route lists the twins on request only, in keyset pages; the fleet's pages never.
    type Page = { items: OtaCampaignDeviceView[]; next?: string };
    const devicesOf = (query: string) =>
      h.request<Page & Partial<HttpErrorBody>>('GET', `/v1/campaigns/${id}/devices?${query}`, {
        key: auditor,
      });
    const [first, second] = [twinA!, twinB!].sort();
    const twinPage = await devicesOf('shadowRun=true&limit=1');
    expect(twinPage.body.items.map((d) => [d.deviceId, d.shadowRun, d.state, d.phase])).toEqual([
      [first, true, 'QUEUED', 1],
    ]);
    const nextPage = await devicesOf(`shadowRun=true&limit=1&cursor=${twinPage.body.next}`);
    expect(nextPage.body.items.map((d) => [d.deviceId, d.shadowRun])).toEqual([[second, true]]);
    const fleetPage = (await devicesOf('limit=100')).body.items;
    expect(fleetPage.map((d) => d.deviceId).sort()).toEqual([...targets].sort());
    expect(fleetPage.every((d) => d.shadowRun === undefined && d.phase >= 1)).toBe(true);
    expect((await devicesOf('shadowRun=false')).body.items).toHaveLength(6);
    const mixed = await devicesOf('shadowRun=true&phase=1');
    expect([mixed.status, mixed.body.code]).toEqual([400, 'INVALID_REQUEST']);
    expect((await devicesOf('shadowRun=yes')).status).toBe(400);

    await install(twinA!, true);
    // One twin succeeded: phase 1 still waits, and no operator skips the run.
    expect((await read(id)).shadow).toMatchObject({ state: 'ACTIVE', counts: { SUCCEEDED: 1, QUEUED: 1 } });
    const skip = await act(id, 'next-phase');
    expect([skip.status, skip.body.code]).toEqual([409, 'SHADOW_RUN_PENDING']);
    for (const target of targets) expect(await checkIn(target)).toBeUndefined();
    expect((await read(id)).phases[0]!.state).toBe('PENDING');

    await install(twinB!, true);
    const opened = await waitForCampaign(id, (c) => c.phases[0]!.state !== 'PENDING', 'phase 1 to open');
    expect(opened.phases[0]!.state).toBe('ACTIVE');
    expect(opened.shadow).toEqual({ state: 'PASSED', twins: 2, counts: { SUCCEEDED: 2 } });
    const page = await h.request<{ items: OtaCampaignDeviceView[] }>(
      'GET',
      `/v1/campaigns/${id}/devices?phase=1`,
      { key: auditor },
    );
    expect(await checkIn(page.body.items[0]!.deviceId)).toMatchObject({ campaignId: id });
    const activated = await campaignTap.waitFor(
      (r) => r.json.campaignId === id && r.json.type === 'phase-activated',
      1,
      'phase 1 activated',
    );
    expect(activated[0]!.json).toMatchObject({
      phase: 1,
      shadow: { outcome: 'passed', twins: 2, succeeded: 2, failed: 0 },
      counts: { targets: 6 },
    });
    // Twins' statuses say so, in no phase.
    const twinRecords = statusRecords(id).filter((e) => e.deviceId === twinA || e.deviceId === twinB);
    expect(twinRecords.length).toBeGreaterThan(0);
    expect(twinRecords.every((e) => e.shadowRun === true && e.phase === undefined)).toBe(true);
    const { kept, recount } = await countersAndRecount(h.db, id);
    expect(kept).toEqual(recount);
  });

  it('a twin whose boot fails halts the campaign for good; no fleet meter is ever notified', async () => {
    const targets = await fleet('fail', ['rev-a', 'rev-b', 'rev-a', 'rev-b']);
    const [twinA, twinB] = await fleet('ftwin', ['rev-a', 'rev-b']);
    const id = await approved({
      target: { deviceIds: targets },
      phases,
      shadowRun: { twins: [twinA, twinB] },
    });
    expect((await act(id, 'start')).status).toBe(200);
    await install(twinB!, false);
    const halted = await waitForCampaign(id, (c) => c.state === 'HALTED', 'the shadow halt');
    expect(halted.shadow).toMatchObject({ state: 'FAILED', counts: { ROLLED_BACK: 1, QUEUED: 1 } });
    expect(halted.haltReason).toBeNull();
    expect(halted.phases.map((p) => p.state)).toEqual(['PENDING', 'PENDING']);

    const haltEvent = await campaignTap.waitFor(
      (r) => r.json.campaignId === id && r.json.type === 'halted',
      1,
      'halted',
    );
    expect(haltEvent[0]!.json).toMatchObject({
      shadow: { outcome: 'failed', twins: 2, succeeded: 0, failed: 1 },
      counts: { targets: 4, notified: 0 },
    });
    // The other twin and the fleet check in: nothing for them; the ticker runs on meanwhile.
    expect(await checkIn(twinA!)).toBeUndefined();
    for (const target of targets) expect(await checkIn(target)).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(campaignEvents(id).filter((e) => e.type === 'halted')).toHaveLength(1);
    expect(campaignEvents(id).some((e) => e.type === 'phase-activated')).toBe(false);

    // Never resumed: a new campaign is needed.
    const resume = await act(id, 'resume', operator, { acknowledgeHalt: true });
    expect([resume.status, resume.body.code]).toEqual([409, 'SHADOW_FAILED']);
    // The raw records name twins only, and the database holds every fleet execution unadmitted.
    expect(new Set(statusRecords(id).map((e) => e.deviceId))).toEqual(new Set([twinB]));
    const fleetRows = await h.db
      .selectFrom('executions')
      .select(['state', 'admitted_at', 'phase'])
      .where('campaign_id', '=', id)
      .where('device_id', 'in', targets)
      .execute();
    expect(fleetRows).toHaveLength(4);
    expect(fleetRows.every((e) => e.state === 'QUEUED' && e.admitted_at === null && e.phase! >= 1)).toBe(
      true,
    );
  });

  it('twins silent past timeoutSeconds: the ticker times them out and halts the campaign; no fleet meter is notified', async () => {
    const targets = await fleet('slow', ['rev-a', 'rev-b']);
    const [twinA, twinB] = await fleet('stwin', ['rev-a', 'rev-b']);
    const id = await approved({
      target: { deviceIds: targets },
      phases,
      shadowRun: { twins: [twinA, twinB], timeoutSeconds: 30 },
    });
    const startedAt = Date.now();
    expect((await act(id, 'start')).status).toBe(200);
    // Twin A takes its directive and goes silent; twin B never checks in at all.
    expect(await checkIn(twinA!)).toMatchObject({ campaignId: id });
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    // The ticker runs every 200 ms: well before the timeout the run is still open.
    expect((await read(id)).shadow).toMatchObject({ state: 'ACTIVE', counts: { NOTIFIED: 1, QUEUED: 1 } });

    const halted = await waitUntil(
      async () => {
        const campaign = await read(id);
        return campaign.state === 'HALTED' ? campaign : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 500, description: 'the shadow run to time out' },
    );
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(30_000);
    expect(halted.shadow).toEqual({ state: 'FAILED', twins: 2, counts: { TIMED_OUT: 2 } });
    expect(halted.phases.map((p) => p.state)).toEqual(['PENDING', 'PENDING']);
    const haltEvent = await campaignTap.waitFor(
      (r) => r.json.campaignId === id && r.json.type === 'halted',
      1,
      'halted',
    );
    expect(haltEvent[0]!.json).toMatchObject({
      shadow: { outcome: 'failed', twins: 2, succeeded: 0, failed: 2 },
      counts: { targets: 2, notified: 0 },
    });
    // Each twin's timeout is a raw status record; none names a fleet meter, which gets nothing.
    await statusTap.waitFor(
      (r) => r.json.campaignId === id && r.json.state === 'TIMED_OUT',
      2,
      'the twins timed out',
    );
    expect(new Set(statusRecords(id).map((e) => e.deviceId))).toEqual(new Set([twinA, twinB]));
    for (const target of targets) expect(await checkIn(target)).toBeUndefined();
    const resume = await act(id, 'resume', operator, { acknowledgeHalt: true });
    expect([resume.status, resume.body.code]).toEqual([409, 'SHADOW_FAILED']);
  }, 60_000);

  it('refuses twins that are not ACTIVE meters of the tenant and class, busy, named as targets, or leave a revision uncovered', async () => {
    const targets = await fleet('ref', ['rev-a', 'rev-b']);
    const [twinA] = await fleet('rtwin', ['rev-a']);
    const [foreign] = await enrolled(1, 'foreign', otherTenant);
    const [otherClass] = await enrolled(1, 'cls', tenantId, `${classId}-x`);
    const create = (twins: string[], deviceIds = targets) =>
      h.request<Answer>('POST', '/v1/campaigns', {
        key: operator,
        json: {
          name: `c-${rand()}`,
          manifestId: m1.manifestId,
          target: { deviceIds },
          phases,
          shadowRun: { twins },
        },
      });
    for (const twin of [foreign!, otherClass!, `MTR-nobody-${rand()}`]) {
      const refused = await create([twinA!, twin]);
      expect([refused.status, refused.body.code], twin).toEqual([422, 'SHADOW_TWIN_UNKNOWN']);
      expect(refused.body.message).toContain(twin);
      expect(refused.body.message).not.toContain(twinA);
    }
    const named = await create([targets[0]!]);
    expect([named.status, named.body.code]).toEqual([400, 'INVALID_REQUEST']);
    expect((await create([])).status).toBe(400);

    // rev-b has no twin: simulate says so, start refuses naming it.
    const uncovered = await approved({
      target: { deviceIds: targets },
      phases,
      shadowRun: { twins: [twinA] },
    });
    const simulated = await h.request<OtaCampaignSimulation>('POST', `/v1/campaigns/${uncovered}/simulate`, {
      key: auditor,
    });
    expect(simulated.body.shadow).toEqual({ covered: ['rev-a'], missing: ['rev-b'], unknownTwins: [] });
    const missing = await act(uncovered, 'start');
    expect([missing.status, missing.body.code]).toEqual([409, 'SHADOW_TWIN_MISSING']);
    expect(missing.body.message).toContain('rev-b');
    expect((await read(uncovered)).state).toBe('APPROVED');

    // A twin another campaign holds is busy; start refuses and leaves the campaign as it was.
    const busyCampaign = await approved({ target: { deviceIds: [twinA!] }, phases: phases.slice(1) });
    expect((await act(busyCampaign, 'start')).status).toBe(200);
    const [twinB] = await fleet('rtwinb', ['rev-b']);
    const held = await approved({
      target: { deviceIds: targets },
      phases,
      shadowRun: { twins: [twinA, twinB] },
    });
    const busy = await act(held, 'start');
    expect([busy.status, busy.body.code]).toEqual([409, 'SHADOW_TWIN_BUSY']);
    expect(busy.body.message).toContain(twinA);
    expect((await read(held)).state).toBe('APPROVED');
  });
});
