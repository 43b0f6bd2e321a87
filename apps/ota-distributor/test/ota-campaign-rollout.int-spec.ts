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
} from '@meterkeep/contracts';
import { signManifest, signReceipt } from '@meterkeep/firmware';
import { planMembership } from '../src/campaigns/domain/membership';
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

// Issue #13, spec §6.4–§6.6: a campaign from APPROVED to RUNNING, PAUSED, HALTED, CANCELLED and
// COMPLETED on the real stack. Meters reach the distributor through part 1's device API (check-in,
// status, receipt) under the test-only meter header; events on ota.campaigns.v2 and
// ota.device-status.v2 through the outbox; counters read from the API and held to a recount.

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const VENDOR = 'acme-meters';
const rand = () => randomBytes(3).toString('hex');
type Refusal = Partial<HttpErrorBody>;
type Answer = OtaCampaignView & Refusal;
type Verb = 'submit' | 'approve' | 'start' | 'pause' | 'resume' | 'cancel' | 'next-phase' | 'retry-failed';
type Page = { items: OtaCampaignDeviceView[]; next?: string } & Refusal;

describe('ota-distributor: campaigns from approval to rollout, halt and cancel', () => {
  let enrollment: EnrollmentProcess;
  let h: OtaHarness;
  let campaignTap: TopicTap;
  let statusTap: TopicTap;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let approver: string;
  let auditor: string;
  let other: { tenantId: string; adminKey: string };
  const classId = `em300-${rand()}`;
  const root = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const image = randomBytes(16 * 1024);
  let m1: FirmwareManifestView;
  let m2: FirmwareManifestView;
  const meters = new Map<string, { meter: TestMeter; device: OtaDeviceClient }>();

  const manifest = (sequenceNumber: number) =>
    appManifest({ vendorId: VENDOR, classId, image, sequenceNumber });
  const act = (campaignId: string, verb: Verb, key = operator, json?: Record<string, unknown>) =>
    h.request<Answer>('POST', `/v1/campaigns/${campaignId}/${verb}`, {
      key,
      ...(json !== undefined && { json }),
    });
  const read = async (campaignId: string) =>
    (await h.request<Answer>('GET', `/v1/campaigns/${campaignId}`, { key: auditor })).body;
  const devicesOf = async (campaignId: string, query = 'limit=1000') =>
    (await h.request<Page>('GET', `/v1/campaigns/${campaignId}/devices?${query}`, { key: auditor })).body;
  const enrolled = async (n: number, label: string) => {
    const ids = Array.from({ length: n }, (_, i) => `MTR-${label}-${rand()}-${String(i).padStart(3, '0')}`);
    await h.enroll(tenantId, ids, classId);
    for (const id of ids) {
      const meter = h.meter(tenantId, id);
      meters.set(id, { meter, device: h.device(meter) });
    }
    return ids;
  };
  const device = (id: string) => meters.get(id)!.device;
  const checkIn = async (id: string) => {
    const answer = await device(id).checkIn({ installed: 'none', seq: '0', slot: 'A' });
    expect(answer.status).toBe(200);
    const body = answer.body as unknown as OtaCheckInAnswer;
    return body.directive?.directive as
      { executionId: string; campaignId: string; nonce: string } | undefined;
  };
  const report = (id: string, executionId: string, state: string, seq: number, extra = {}) =>
    device(id).status(executionId, { state, attempt: 1, seq, ...extra });
  const receipt = (id: string, directive: { executionId: string; nonce: string }) =>
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
  const campaignEvents = (campaignId: string, type: string) =>
    campaignTap.records.filter((r) => r.json.campaignId === campaignId && r.json.type === type);
  const eventOf = async (campaignId: string, type: string, count = 1) =>
    (await campaignTap.waitFor(
      (r) => r.json.campaignId === campaignId && r.json.type === type,
      count,
      `${type} of ${campaignId}`,
    )) as unknown as { json: OtaCampaignV2Event }[];
  /** The kept counters equal a recount from the executions (no drift, whatever path moved them). */
  const expectCountersKept = async (campaignId: string) => {
    const { kept, recount } = await countersAndRecount(h.db, campaignId);
    expect(kept).toEqual(recount);
  };
  /** Created, submitted, approved by a second person; started unless `start` is false. */
  async function launch(deviceIds: string[], json: Record<string, unknown>, start = true): Promise<Answer> {
    const created = await h.request<Answer>('POST', '/v1/campaigns', {
      key: operator,
      json: { name: `c-${rand()}`, manifestId: m1.manifestId, target: { deviceIds }, ...json },
    });
    expect(created.status).toBe(201);
    const id = created.body.campaignId;
    expect((await act(id, 'submit')).status).toBe(200);
    expect((await act(id, 'approve', approver)).status).toBe(200);
    if (!start) return created.body;
    const started = await act(id, 'start');
    expect(started.status, started.text).toBe(200);
    return started.body;
  }
  const phases = (...sizes: Record<string, unknown>[]) =>
    sizes.map((size, i) => ({ name: `p${i + 1}`, size, minSoakMinutes: 0, successThresholdPercent: 100 }));
  const waitFor = <T>(probe: () => Promise<T | undefined>, description: string) =>
    waitUntil(probe, { timeoutMs: 20_000, description });

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('ota-roll');
    h = await OtaHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      testMeterHeader: true,
      env: { OTA_CAMPAIGN_TICK_MS: '200' },
    });
    ({ tenantId, adminKey: admin } = await enrollment.tenant());
    other = await enrollment.tenant();
    [operator, approver, auditor] = await Promise.all([
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'auditor'),
    ]);
    campaignTap = await TopicTap.open(testKafka(), OTA_CAMPAIGNS_V2);
    statusTap = await TopicTap.open(testKafka(), OTA_DEVICE_STATUS_V2);
    await h.prepareRelease({ admin, operator, classId, vendorId: VENDOR, authority: root.publicKey, image });
    const accept = async (sequenceNumber: number) => {
      const signed = signManifest(manifest(sequenceNumber), [{ privateKey: root.privateKey }]);
      const accepted = await fetch(`${h.url}/v1/firmware/manifests`, {
        method: 'POST',
        headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
        body: signed.envelopeBytes,
      });
      expect(accepted.status).toBe(201);
      return (await accepted.json()) as FirmwareManifestView;
    };
    m1 = await accept(7);
    m2 = await accept(8);
  });

  afterAll(async () => {
    await campaignTap?.close();
    await statusTap?.close();
    await h?.stop();
    await enrollment?.stop();
  });

  it('start plans stratified membership into phases, opens phase 1 and admits at the rollout rate', async () => {
    const ids = await enrolled(12, 'start');
    const started = await launch(ids, {
      phases: phases({ count: 5 }, { percent: 100 }),
      rollout: { maxPerMinute: 3, perGatewayConcurrency: 50 },
    });
    const id = started.campaignId;
    expect(started.state).toBe('RUNNING');
    expect(started.phases.map((p) => [p.state, p.targets, p.counts])).toEqual([
      ['ACTIVE', 5, { QUEUED: 5 }],
      ['PENDING', 7, { QUEUED: 7 }],
    ]);
    expect(started.counts).toEqual({ QUEUED: 12 });
    // The plan is the domain's: deterministic by hash of (campaign, device), one null stratum.
    const plan = planMembership(
      id,
      ids.map((deviceId) => ({ deviceId, gatewayId: null, hardwareRevision: null })),
      [{ count: 5 }, { percent: 100 }],
    );
    const page = await devicesOf(id);
    expect(
      page.items
        .filter((d) => d.phase === 1)
        .map((d) => d.deviceId)
        .sort(),
    ).toEqual([...plan.phases[0]!].sort());
    // Exactly the rate's worth of phase 1 was admitted, in admission order; nobody of phase 2.
    const admitted = page.items.filter((d) => d.admittedAt !== null);
    expect(admitted).toHaveLength(3);
    expect(admitted.map((d) => d.deviceId).sort()).toEqual([...plan.phases[0]!.slice(0, 3)].sort());
    // The ticker keeps to 3 per 60 s window.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await devicesOf(id)).items.filter((d) => d.admittedAt !== null)).toHaveLength(3);

    const held = plan.phases[0]![4]!;
    expect(await checkIn(held)).toBeUndefined();
    const first = plan.phases[0]![0]!;
    const directive = await checkIn(first);
    expect(directive).toMatchObject({ campaignId: id });
    expect((await read(id)).phases[0]!.counts).toEqual({ QUEUED: 4, NOTIFIED: 1 });
    const [startedEvent] = (await eventOf(id, 'started')).map((r) => r.json);
    expect(startedEvent).toMatchObject({ counts: { targets: 12, notified: 0 }, actor: expect.any(String) });
    expect((await eventOf(id, 'phase-activated'))[0]!.json.phase).toBe(1);
    const notified = await statusTap.waitFor(
      (r) => r.json.executionId === directive!.executionId && r.json.state === 'NOTIFIED',
      1,
      'NOTIFIED',
    );
    expect(notified[0]!.json).toMatchObject({ campaignId: id, phase: 1 });
    await expectCountersKept(id);

    // Refusals: started already (409 naming the state), auditors (403), another tenant (404).
    const again = await act(id, 'start');
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      code: 'CAMPAIGN_STATE_CONFLICT',
      message: expect.stringContaining('RUNNING'),
    });
    expect((await act(id, 'start', auditor)).status).toBe(403);
    const foreign = await act(id, 'pause', other.adminKey);
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('CAMPAIGN_NOT_FOUND');
    expect((await h.request('GET', `/v1/campaigns/${id}/devices`, { key: other.adminKey })).status).toBe(404);
  });

  it('simulate answers what start then plans, writes nothing, and counts the meters it would leave out', async () => {
    const ids = await enrolled(20, 'sim');
    const definition = {
      phases: phases({ count: 5 }, { percent: 100 }),
      rollout: { maxPerMinute: 4, perGatewayConcurrency: 50 },
      maintenanceWindows: [{ cron: '0 2 * * *', durationMinutes: 60, timezone: 'UTC' }],
    };
    const approved = await launch(ids, definition, false);
    const id = approved.campaignId;
    const simulate = (campaignId: string, key = auditor) =>
      h.request<OtaCampaignSimulation & Refusal>('POST', `/v1/campaigns/${campaignId}/simulate`, { key });
    const simulated = await simulate(id);
    expect(simulated.status, simulated.text).toBe(200);
    expect(simulated.body).toMatchObject({
      campaignId: id,
      classId,
      targets: 20,
      excluded: { notActive: 0, executionInProgress: 0, atOrAboveSequence: 0 },
      byInstalledManifest: [{ manifestDigest: null, devices: 20 }],
      compatibility: { compatible: 20, refusedWrongPrecursor: 0 },
      explicitNotTargeted: 0,
      bytes: { perDevice: image.length, total: 20 * image.length },
    });
    // 5 then 15 at 4 a minute: 2 and 4 minutes; no soak configured.
    expect(simulated.body.phases.map((p) => [p.devices, p.notifyMinutes, p.soakMinutes])).toEqual([
      [5, 2, 0],
      [15, 4, 0],
    ]);
    expect(simulated.body.duration.totalMinutes).toBe(6);
    expect(simulated.body.duration.firstInstallWindowAt).toMatch(/T02:00:00\.000Z$/);
    // Nothing written: no execution, the campaign still APPROVED.
    const executions = await h.db
      .selectFrom('executions')
      .select('execution_id')
      .where('campaign_id', '=', id)
      .execute();
    expect(executions).toEqual([]);
    expect((await read(id)).state).toBe('APPROVED');

    // Start plans the same phases.
    const started = await act(id, 'start');
    expect(started.body.phases.map((p) => p.targets)).toEqual([5, 15]);
    const running = await simulate(id);
    expect(running.status).toBe(409);
    expect(running.body.code).toBe('CAMPAIGN_STATE_CONFLICT');

    // A second campaign for the same meters: every one is busy with the first.
    const second = await launch(ids, definition, false);
    const busy = await simulate(second.campaignId, operator);
    expect(busy.body).toMatchObject({
      targets: 0,
      excluded: { notActive: 0, executionInProgress: 20, atOrAboveSequence: 0 },
    });
    expect((await simulate(id, other.adminKey)).status).toBe(404);
  });

  it('refuses to start a draft, and a query on attributes the projection lacks', async () => {
    const [one] = await enrolled(1, 'refuse');
    const created = await h.request<Answer>('POST', '/v1/campaigns', {
      key: operator,
      json: { name: 'draft', manifestId: m1.manifestId, target: { deviceIds: [one] } },
    });
    const draft = await act(created.body.campaignId, 'start');
    expect(draft.status).toBe(409);
    expect(draft.body.message).toContain('DRAFT');
    const tagged = await h.request<Answer>('POST', '/v1/campaigns', {
      key: operator,
      json: { name: 'tagged', manifestId: m1.manifestId, target: { query: { tags: ['north'] } } },
    });
    await act(tagged.body.campaignId, 'submit');
    await act(tagged.body.campaignId, 'approve', approver);
    const unsupported = await act(tagged.body.campaignId, 'start');
    expect(unsupported.status).toBe(422);
    expect(unsupported.body).toMatchObject({ code: 'TARGET_QUERY_UNSUPPORTED' });
    expect((await read(tagged.body.campaignId)).state).toBe('APPROVED');
    for (const verb of ['pause', 'resume', 'next-phase', 'retry-failed'] as const)
      expect(
        (await act(created.body.campaignId, verb, operator, verb === 'resume' ? {} : undefined)).status,
      ).toBe(409);
  });

  it('halts once on the crossing status: no notification after it, not-yet-installing cancelled at check-in', async () => {
    const ids = await enrolled(7, 'halt');
    const started = await launch(ids, {
      phases: phases({ count: 6 }, { percent: 100 }),
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      abort: [{ scope: 'phase', failureTypes: ['FAILED'], thresholdCount: 2, minExecuted: 2 }],
    });
    const id = started.campaignId;
    const phase1 = (await devicesOf(id, 'phase=1')).items.map((d) => d.deviceId);
    const [a, b, c, d, installing, late] = phase1 as [string, string, string, string, string, string];
    const directives = new Map<string, { executionId: string; nonce: string }>();
    for (const meter of [a, b, c, d, installing]) directives.set(meter, (await checkIn(meter))!);
    expect((await report(installing, directives.get(installing)!.executionId, 'INSTALLING', 1)).status).toBe(
      200,
    );
    expect((await report(d, directives.get(d)!.executionId, 'DOWNLOADING', 1)).status).toBe(200);

    // Two crossing statuses at once: the campaign's lock judges them one after the other.
    const [fa, fb] = await Promise.all([
      report(a, directives.get(a)!.executionId, 'FAILED', 1, { failureCode: 'DIGEST_MISMATCH' }),
      report(b, directives.get(b)!.executionId, 'FAILED', 1, { failureCode: 'DIGEST_MISMATCH' }),
    ]);
    expect([fa.status, fb.status]).toEqual([200, 200]);
    const halted = await read(id);
    expect(halted.state).toBe('HALTED');
    expect(halted.haltReason).toEqual({ rule: 0, phase: 1, failed: 2, executed: 2 });
    const [event] = (await eventOf(id, 'halted')).map((r) => r.json);
    expect(event).toMatchObject({ phase: 1, reason: { rule: 0, scope: 'phase', failed: 2, executed: 2 } });
    // A third failure after the halt: no second halted event.
    expect((await report(c, directives.get(c)!.executionId, 'FAILED', 1)).status).toBe(200);
    // Not yet installing: cancelled at its next check-in, no directive; the install goes on.
    expect(await checkIn(d)).toBeUndefined();
    expect(await checkIn(installing)).toMatchObject({ executionId: directives.get(installing)!.executionId });
    // Admitted but never notified: after the halt it gets nothing and stays queued.
    expect(await checkIn(late)).toBeUndefined();
    const states = Object.fromEntries((await devicesOf(id)).items.map((x) => [x.deviceId, x.state]));
    expect([states[a], states[b], states[c], states[d], states[installing], states[late]]).toEqual([
      'FAILED',
      'FAILED',
      'FAILED',
      'CANCELLED',
      'INSTALLING',
      'QUEUED',
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(campaignEvents(id, 'halted')).toHaveLength(1);
    const notifiedAfter = statusTap.records.filter(
      (r) => r.json.campaignId === id && r.json.state === 'NOTIFIED' && r.json.deviceId === late,
    );
    expect(notifiedAfter).toHaveLength(0);
    expect(
      await h.db.selectFrom('campaign_halts').selectAll().where('campaign_id', '=', id).execute(),
    ).toHaveLength(1);
    await expectCountersKept(id);

    // Resume takes an acknowledgement; then the queue moves again.
    const unacknowledged = await act(id, 'resume', operator, {});
    expect(unacknowledged.status).toBe(422);
    expect(unacknowledged.body.code).toBe('HALT_NOT_ACKNOWLEDGED');
    expect((await act(id, 'resume', auditor, { acknowledgeHalt: true })).status).toBe(403);
    const resumed = await act(id, 'resume', operator, { acknowledgeHalt: true });
    expect(resumed.body.state).toBe('RUNNING');
    expect(await checkIn(late)).toMatchObject({ campaignId: id });
  });

  it('a phase advances on threshold and soak; next-phase completes the last', async () => {
    const ids = await enrolled(3, 'advance');
    const started = await launch(ids, {
      phases: phases({ count: 1 }, { percent: 100 }),
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
    });
    const id = started.campaignId;
    const [canary] = (await devicesOf(id, 'phase=1')).items.map((x) => x.deviceId);
    // Next phase is refused while paused (409 naming the state).
    expect((await act(id, 'pause')).body.state).toBe('PAUSED');
    expect(await checkIn(canary!)).toBeUndefined();
    const paused = await act(id, 'next-phase');
    expect(paused.status).toBe(409);
    expect(paused.body.message).toContain('PAUSED');
    expect((await act(id, 'pause')).status).toBe(409);
    expect((await act(id, 'resume', operator, {})).body.state).toBe('RUNNING');
    const directive = (await checkIn(canary!))!;
    expect(directive).toBeDefined();
    expect((await receipt(canary!, directive)).status).toBe(200);
    // The ticker: 100% of phase 1 succeeded, soak 0 → phase 2 opens.
    await waitFor(async () => ((await read(id)).phases[1]!.state === 'ACTIVE' ? true : undefined), 'phase 2');
    const advanced = await read(id);
    expect(advanced.phases.map((p) => p.state)).toEqual(['PASSED', 'ACTIVE']);
    expect((await eventOf(id, 'phase-passed'))[0]!.json).toMatchObject({
      phase: 1,
      counts: { succeeded: 1 },
    });
    expect((await eventOf(id, 'phase-activated', 2)).map((r) => r.json.phase).sort()).toEqual([1, 2]);
    const next = await act(id, 'next-phase');
    expect(next.status).toBe(200);
    expect(next.body.state).toBe('COMPLETED');
    await eventOf(id, 'completed');
    expect((await act(id, 'next-phase')).status).toBe(409);
    await expectCountersKept(id);
  });

  it('retry-failed re-queues under the next attempt; cancel graceful and force; keyset pages', async () => {
    const ids = await enrolled(5, 'cancel');
    const started = await launch(ids, {
      phases: phases({ percent: 100 }),
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      abort: [{ scope: 'phase', failureTypes: ['FAILED'], thresholdCount: 5, minExecuted: 5 }],
    });
    const id = started.campaignId;
    const [failing, notified, downloading, queued, spare] = ids as [string, string, string, string, string];
    const df = (await checkIn(failing))!;
    expect(
      (await report(failing, df.executionId, 'FAILED', 1, { failureCode: 'DOWNLOAD_HTTP_503' })).status,
    ).toBe(200);
    const retried = await act(id, 'retry-failed');
    expect(retried.status).toBe(200);
    expect(retried.body.counts.FAILED).toBeUndefined();
    const row = (await devicesOf(id)).items.find((x) => x.deviceId === failing)!;
    expect(row).toMatchObject({ state: 'QUEUED', attempt: 2, failureCode: null });
    await waitFor(
      async () =>
        (await devicesOf(id)).items.find((x) => x.deviceId === failing)!.admittedAt ? true : undefined,
      'retried execution admitted again',
    );
    const again = (await checkIn(failing))!;
    expect(again.executionId).toBe(df.executionId);
    expect(again.nonce).not.toBe(df.nonce);

    await checkIn(notified);
    const dd = (await checkIn(downloading))!;
    expect((await report(downloading, dd.executionId, 'DOWNLOADING', 1)).status).toBe(200);
    // Keyset pages cover every device once.
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await devicesOf(id, `limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.items.map((x) => x.deviceId));
      cursor = page.next;
    } while (cursor);
    expect(seen).toEqual([...ids].sort());

    const cancelled = await act(id, 'cancel', operator, { mode: 'graceful' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('CANCELLING');
    expect((await eventOf(id, 'cancelling'))[0]!.json).toMatchObject({ cancelMode: 'graceful' });
    expect(await checkIn(notified)).toBeUndefined();
    expect(await checkIn(failing)).toBeUndefined();
    // Graceful: a download under way goes on.
    expect(await checkIn(downloading)).toMatchObject({ executionId: dd.executionId });
    expect((await act(id, 'cancel', operator, {})).status).toBe(409);
    const cancelling = await read(id);
    expect(cancelling.state).toBe('CANCELLING');
    // Never notified: cancelled at once.
    const now = Object.fromEntries((await devicesOf(id)).items.map((x) => [x.deviceId, x.state]));
    expect([now[queued], now[spare], now[notified], now[downloading]]).toEqual([
      'CANCELLED',
      'CANCELLED',
      'CANCELLED',
      'DOWNLOADING',
    ]);
    expect((await report(downloading, dd.executionId, 'FAILED', 2)).status).toBe(200);
    await waitFor(async () => ((await read(id)).state === 'CANCELLED' ? true : undefined), 'CANCELLED');
    await eventOf(id, 'cancelled');
    await expectCountersKept(id);

    // Force: a download under way is cancelled at its next check-in.
    const more = await enrolled(1, 'force');
    const forced = await launch(more, {
      phases: phases({ percent: 100 }),
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
    });
    const fd = (await checkIn(more[0]!))!;
    expect((await report(more[0]!, fd.executionId, 'DOWNLOADING', 1)).status).toBe(200);
    expect((await act(forced.campaignId, 'cancel', operator, { mode: 'force' })).body.state).toBe(
      'CANCELLING',
    );
    expect(await checkIn(more[0]!)).toBeUndefined();
    await waitFor(
      async () => ((await read(forced.campaignId)).state === 'CANCELLED' ? true : undefined),
      'forced',
    );
    await expectCountersKept(forced.campaignId);
  });

  it('revert-on-halt creates a campaign of the updated devices with the higher-sequence manifest, awaiting approval; an install under way at the halt joins it when it ends', async () => {
    const ids = await enrolled(4, 'revert');
    const started = await launch(ids, {
      phases: phases({ percent: 100 }),
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      abort: [{ scope: 'campaign', failureTypes: ['ROLLED_BACK'], thresholdCount: 1, minExecuted: 2 }],
      revertOnHalt: { manifestId: m2.manifestId },
    });
    const id = started.campaignId;
    const [updated, broken, untouched, installing] = ids as [string, string, string, string];
    const du = (await checkIn(updated))!;
    expect((await receipt(updated, du)).status).toBe(200);
    expect((await read(id)).state).toBe('RUNNING');
    const di = (await checkIn(installing))!;
    expect((await report(installing, di.executionId, 'INSTALLING', 1)).status).toBe(200);
    const db = (await checkIn(broken))!;
    expect((await report(broken, db.executionId, 'INSTALLING', 1)).status).toBe(200);
    expect(
      (await report(broken, db.executionId, 'ROLLED_BACK', 2, { failureCode: 'BOOT_VERIFY_FAILED' })).status,
    ).toBe(200);
    const halted = await read(id);
    expect(halted.state).toBe('HALTED');
    const [event] = (await eventOf(id, 'revert-created')).map((r) => r.json);
    const revertId = event!.revertCampaignId!;
    // The halted campaign names its revert.
    expect(halted.revertCampaignId).toBe(revertId);
    const revert = await read(revertId);
    expect(revert).toMatchObject({
      state: 'PENDING_APPROVAL',
      manifestId: m2.manifestId,
      sequenceNumber: m2.sequenceNumber,
      createdBy: 'ota-distributor',
      revertCampaignId: null,
      // The meter still installing the bad image is covered too.
      definition: { target: { deviceIds: [updated, installing].sort() } },
    });
    expect(revert.sequenceNumber).toBeGreaterThan(m1.sequenceNumber);
    expect((await act(revertId, 'start')).status).toBe(409);
    expect((await act(revertId, 'approve', approver)).body.state).toBe('APPROVED');
    // Still installing at the revert's start: busy, so not a member yet.
    const running = await act(revertId, 'start');
    expect(running.body).toMatchObject({ state: 'RUNNING', counts: { QUEUED: 1 } });
    const directive = (await checkIn(updated)) as unknown as { campaignId: string; manifestDigest: string };
    expect(directive).toMatchObject({ campaignId: revertId, manifestDigest: m2.manifestDigest });
    // The halted campaign notifies nobody more.
    expect(await checkIn(untouched)).toBeUndefined();
    // The install finishes (spec §6.6): the meter runs the bad image, and joins the running revert.
    expect((await receipt(installing, di)).status).toBe(200);
    const joined = await read(revertId);
    expect(joined.counts).toMatchObject({ QUEUED: 1, NOTIFIED: 1 });
    expect(joined.phases[0]!.targets).toBe(2);
    await waitFor(
      async () =>
        (await devicesOf(revertId)).items.find((x) => x.deviceId === installing)?.admittedAt
          ? true
          : undefined,
      'the late joiner admitted to the revert',
    );
    expect(await checkIn(installing)).toMatchObject({
      campaignId: revertId,
      manifestDigest: m2.manifestDigest,
    });
    expect(campaignEvents(id, 'revert-created')).toHaveLength(1);
    await expectCountersKept(revertId);
  });

  it('a stage past its timeout becomes TIMED_OUT by the ticker and counts for the abort rules', async () => {
    const ids = await enrolled(2, 'timeout');
    const started = await launch(ids, {
      phases: phases({ percent: 100 }),
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      timeouts: { downloadMinutes: 1, installMinutes: 60 },
      abort: [{ scope: 'phase', failureTypes: ['TIMED_OUT'], thresholdCount: 1, minExecuted: 1 }],
    });
    const id = started.campaignId;
    const [slow, installing] = ids as [string, string];
    const ds = (await checkIn(slow))!;
    const di = (await checkIn(installing))!;
    expect((await report(slow, ds.executionId, 'DOWNLOADING', 1)).status).toBe(200);
    expect((await report(installing, di.executionId, 'INSTALLING', 1)).status).toBe(200);
    // Two minutes pass for both stages (the test moves their entry back, not the clock).
    await h.db
      .updateTable('executions')
      .set({ stage_entered_at: new Date(Date.now() - 120_000) })
      .where('execution_id', 'in', [ds.executionId, di.executionId])
      .execute();
    await waitFor(
      async () => ((await read(id)).state === 'HALTED' ? true : undefined),
      'halt on the timeout',
    );
    const states = Object.fromEntries((await devicesOf(id)).items.map((x) => [x.deviceId, x.state]));
    expect([states[slow], states[installing]]).toEqual(['TIMED_OUT', 'INSTALLING']);
    expect((await read(id)).haltReason).toEqual({ rule: 0, phase: 1, failed: 1, executed: 1 });
    await statusTap.waitFor(
      (r) => r.json.executionId === ds.executionId && r.json.state === 'TIMED_OUT',
      1,
      'TIMED_OUT status',
    );
    // The meter's late report finds its execution closed.
    expect((await report(slow, ds.executionId, 'DOWNLOADED', 2)).status).toBe(409);
    await expectCountersKept(id);
  });
});
