import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ENROLLMENT_DEVICES,
  type FirmwareManifestView,
  type HttpErrorBody,
  OTA_CAMPAIGNS_V2,
  OTA_DEVICE_STATUS_V2,
  type OtaCampaignView,
  type OtaCheckInAnswer,
} from '@meterkeep/contracts';
import { signManifest, signReceipt } from '@meterkeep/firmware';
import type { ServiceProcess } from '@meterkeep/testing';
import {
  EnrollmentProcess,
  type OtaDeviceClient,
  OtaHarness,
  type TestMeter,
  TopicTap,
  appManifest,
  startDistributorProcess,
  testKafka,
  waitUntil,
  countersAndRecount,
} from './ota-test-kit';

// Issue #13, spec §6.6–§6.7: the campaigns' ticker killed with SIGKILL in the middle of a phase
// advance and of a halt, then started again, and two replicas ticking one campaign at once. The
// distributors under test are the built service (dist/) run as processes on the `ota` schema; the
// in-process harness beside them (its ticker off) serves the operators' API and the meters (test-only
// meter header). The kill lands in the window by a test-only pause point (OTA_TEST_PAUSE_AT): the
// process stops there, its transaction open, and the test kills it. Events are read as raw records.

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const VENDOR = 'acme-meters';
const rand = () => randomBytes(3).toString('hex');
type Answer = OtaCampaignView & Partial<HttpErrorBody>;
type SeenDirective = { executionId: string; campaignId: string; nonce: string };

// Processes started and restarted on 2 busy cores: minutes, not seconds, at worst.
describe('ota-distributor: campaigns through SIGKILL and two replicas', { timeout: 240_000 }, () => {
  let enrollment: EnrollmentProcess;
  let h: OtaHarness;
  let campaignTap: TopicTap;
  let statusTap: TopicTap;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let approver: string;
  const classId = `em320-${rand()}`;
  const root = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const image = randomBytes(8 * 1024);
  let m1: FirmwareManifestView;
  const meters = new Map<string, { meter: TestMeter; device: OtaDeviceClient }>();
  const logDir = mkdtempSync(join(tmpdir(), 'ota-crash-it-'));
  const running: ServiceProcess[] = [];

  const distributor = async (name: string, env: Record<string, string> = {}) => {
    const child = await startDistributorProcess({
      enrollmentUrl: enrollment.internalUrl,
      bucket: h.bucket,
      logFile: join(logDir, `${name}.log`),
      env,
    });
    running.push(child);
    return child;
  };
  /** Waits until the process stopped at its pause point, then kills it there. */
  const killAtPausePoint = async (child: ServiceProcess, name: string, point: string) => {
    await waitUntil(
      () =>
        readFileSync(join(logDir, `${name}.log`), 'utf8').includes(`"testPausePoint":"${point}"`)
          ? true
          : undefined,
      { timeoutMs: 30_000, description: `${name} at its pause point ${point}` },
    );
    child.child.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
  };
  const act = (campaignId: string, verb: string, key = operator) =>
    h.request<Answer>('POST', `/v1/campaigns/${campaignId}/${verb}`, { key });
  const enrolled = async (n: number, label: string) => {
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
  /** A meter checks in and, when it has a directive, installs and confirms it. */
  const update = async (id: string): Promise<boolean> => {
    const directive = await checkIn(id);
    if (!directive) return false;
    const confirmed = await device(id).receipt(
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
    expect(confirmed.status).toBe(200);
    return true;
  };
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
  async function launch(json: Record<string, unknown>): Promise<string> {
    const id = await approved(json);
    const started = await act(id, 'start');
    expect(started.status, started.text).toBe(200);
    return id;
  }
  const phaseStates = async (campaignId: string) =>
    (
      await h.db
        .selectFrom('campaign_phases')
        .select(['phase', 'state'])
        .where('campaign_id', '=', campaignId)
        .orderBy('phase')
        .execute()
    ).map((p) => p.state);
  const campaignState = async (campaignId: string) =>
    (
      await h.db
        .selectFrom('campaigns')
        .select('state')
        .where('campaign_id', '=', campaignId)
        .executeTakeFirstOrThrow()
    ).state;
  /** The kept counters equal a recount from the executions. */
  const expectCountersKept = async (campaignId: string) => {
    const { kept, recount } = await countersAndRecount(h.db, campaignId);
    expect(kept).toEqual(recount);
  };
  /** The campaign's raw ota.campaigns.v2 records as `type/phase`, in offset order. */
  const campaignRecords = (campaignId: string) =>
    campaignTap.records
      .filter((r) => r.json.campaignId === campaignId)
      .map((r) => `${String(r.json.type)}/${typeof r.json.phase === 'number' ? r.json.phase : '-'}`);
  /** Every record once: no transition produced twice, none published twice. */
  const expectNoDuplicates = (records: string[]) =>
    expect(records.filter((r, i) => records.indexOf(r) !== i)).toEqual([]);
  const waitFor = <T>(probe: () => Promise<T | undefined>, description: string) =>
    waitUntil(probe, { timeoutMs: 30_000, description });
  const onePhase = [{ name: 'all', size: { percent: 100 }, minSoakMinutes: 0, successThresholdPercent: 100 }];
  const twoPhases = [
    { name: 'first', size: { count: 2 }, minSoakMinutes: 0, successThresholdPercent: 100 },
    { name: 'rest', size: { percent: 100 }, minSoakMinutes: 0, successThresholdPercent: 100 },
  ];
  const lenient = [{ scope: 'campaign', failureTypes: ['FAILED'], thresholdCount: 1000, minExecuted: 1000 }];

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('ota-crash');
    // Earlier runs' unfinished campaigns in the shared schema stop: no pause point is theirs to reach.
    await OtaHarness.settleSharedSchema('ota');
    // The built service's own schema, shared with the processes; this replica never ticks.
    h = await OtaHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      testMeterHeader: true,
      schema: 'ota',
      env: { OTA_CAMPAIGN_TICK_MS: '0' },
    });
    ({ tenantId, adminKey: admin } = await enrollment.tenant());
    [operator, approver] = await Promise.all([
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'operator'),
    ]);
    campaignTap = await TopicTap.open(testKafka(), OTA_CAMPAIGNS_V2);
    statusTap = await TopicTap.open(testKafka(), OTA_DEVICE_STATUS_V2);
    await h.prepareRelease({ admin, operator, classId, vendorId: VENDOR, authority: root.publicKey, image });
    const signed = signManifest(appManifest({ vendorId: VENDOR, classId, image, sequenceNumber: 5 }), [
      { privateKey: root.privateKey },
    ]);
    const accepted = await fetch(`${h.url}/v1/firmware/manifests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: signed.envelopeBytes,
    });
    expect(accepted.status).toBe(201);
    m1 = (await accepted.json()) as FirmwareManifestView;
  }, 240_000);

  afterEach(async () => {
    await Promise.all(running.splice(0).map((child) => child.stop()));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(running.splice(0).map((child) => child.stop()));
    await campaignTap?.close();
    await statusTap?.close();
    await h?.stop();
    await enrollment?.stop();
  }, 120_000);

  it('SIGKILL inside a phase advance: after the restart the phase passes and the next opens once', async () => {
    const ids = await enrolled(4, 'adv');
    const id = await launch({
      target: { deviceIds: ids },
      phases: twoPhases,
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      abort: lenient,
    });
    const first = await distributor('advance-1', { OTA_TEST_PAUSE_AT: 'phase-advance' });
    // Phase 1's two meters update: the ticker's next pass advances, and stops inside that transaction.
    let updated = 0;
    for (const meter of ids) if (await update(meter)) updated++;
    expect(updated).toBe(2);
    await killAtPausePoint(first, 'advance-1', 'phase-advance');
    // Killed before the commit: nothing of the advance is kept.
    expect(await phaseStates(id)).toEqual(['ACTIVE', 'PENDING']);

    await distributor('advance-2');
    await waitFor(
      async () => ((await phaseStates(id))[1] === 'ACTIVE' ? true : undefined),
      'phase 2 opened after the restart',
    );
    for (const meter of ids) await update(meter);
    await waitFor(
      async () => ((await campaignState(id)) === 'COMPLETED' ? true : undefined),
      'the campaign completed',
    );
    await campaignTap.waitFor((r) => r.json.campaignId === id && r.json.type === 'completed', 1, 'completed');
    const records = campaignRecords(id);
    expectNoDuplicates(records);
    expect(records.filter((r) => r.startsWith('phase-'))).toEqual([
      'phase-activated/1',
      'phase-passed/1',
      'phase-activated/2',
      'phase-passed/2',
    ]);
    await expectCountersKept(id);
  });

  it('SIGKILL inside a halt: one halted event after the restart, and no meter notified after it', async () => {
    const ids = await enrolled(4, 'halt');
    const id = await launch({
      target: { deviceIds: ids },
      phases: onePhase,
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      timeouts: { downloadMinutes: 1, installMinutes: 60 },
      abort: [{ scope: 'campaign', failureTypes: ['TIMED_OUT'], thresholdCount: 1, minExecuted: 1 }],
    });
    // All four admitted at the start; two check in and start downloading, two have not called yet.
    const [slow1, slow2, later1, later2] = ids as [string, string, string, string];
    for (const meter of [slow1, slow2]) {
      const directive = (await checkIn(meter))!;
      expect(
        (await device(meter).status(directive.executionId, { state: 'DOWNLOADING', attempt: 1, seq: 1 }))
          .status,
      ).toBe(200);
    }
    // Their downloads began two minutes ago (moved back, not the clock): past the 1-minute timeout.
    await h.db
      .updateTable('executions')
      .set({ stage_entered_at: new Date(Date.now() - 120_000) })
      .where('campaign_id', '=', id)
      .where('state', '=', 'DOWNLOADING')
      .execute();
    const first = await distributor('halt-1', { OTA_TEST_PAUSE_AT: 'halt' });
    await killAtPausePoint(first, 'halt-1', 'halt');
    expect(await campaignState(id)).toBe('RUNNING');
    expect(
      await h.db.selectFrom('campaign_halts').select('rule').where('campaign_id', '=', id).execute(),
    ).toEqual([]);

    await distributor('halt-2');
    await waitFor(async () => ((await campaignState(id)) === 'HALTED' ? true : undefined), 'halted');
    await campaignTap.waitFor((r) => r.json.campaignId === id && r.json.type === 'halted', 1, 'halted');
    // The two that had not called check in now: neither is let out to install (no NOTIFIED).
    for (const meter of [later1, later2]) await checkIn(meter);
    const states = await h.db
      .selectFrom('executions')
      .select(['device_id', 'state'])
      .where('campaign_id', '=', id)
      .orderBy('device_id')
      .execute();
    expect(states.filter((s) => s.state === 'TIMED_OUT').map((s) => s.device_id)).toEqual(
      [slow1, slow2].sort(),
    );
    for (const meter of [later1, later2])
      expect(['QUEUED', 'CANCELLED']).toContain(states.find((s) => s.device_id === meter)!.state);
    const records = campaignRecords(id);
    expectNoDuplicates(records);
    expect(records.filter((r) => r.startsWith('halted'))).toHaveLength(1);
    expect(
      await h.db.selectFrom('campaign_halts').select('rule').where('campaign_id', '=', id).execute(),
    ).toHaveLength(1);
    // Raw status records: NOTIFIED only for the two that checked in before the halt.
    await statusTap.waitFor(
      (r) => r.json.campaignId === id && r.json.state === 'TIMED_OUT',
      2,
      'the timeouts on ota.device-status.v2',
    );
    const notified = statusTap.records
      .filter((r) => r.json.campaignId === id && r.json.state === 'NOTIFIED')
      .map((r) => r.json.deviceId);
    expect(notified.sort()).toEqual([slow1, slow2].sort());
    await expectCountersKept(id);
  });

  it('SIGKILL while planning: the start answered 202; after the restart the campaign is planned once', async () => {
    const ids = await enrolled(4, 'plan');
    const body = {
      target: { deviceIds: ids },
      phases: onePhase,
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      abort: lenient,
    };
    // Two approved campaigns over the same meters; the second is cancelled while it plans.
    const id = await approved(body);
    const cancelled = await approved(body);
    // The replica the operator reaches stops inside the plans' transactions; its starts stop waiting.
    const first = await distributor('plan-1', { OTA_TEST_PAUSE_AT: 'planning', OTA_START_WAIT_MS: '300' });
    for (const campaign of [id, cancelled]) {
      const started = await fetch(`${first.url}/v1/campaigns/${campaign}/start`, {
        method: 'POST',
        headers: { authorization: `Bearer ${operator}` },
      });
      expect(started.status).toBe(202);
      const accepted = (await started.json()) as OtaCampaignView;
      expect(accepted.state).toBe('APPROVED');
      expect(accepted.planning?.startedBy).toEqual(expect.any(String));
    }
    await killAtPausePoint(first, 'plan-1', 'planning');
    // Killed before the commit: accepted and kept planning, nothing planned or announced.
    const executions = (campaign: string) =>
      h.db.selectFrom('executions').select('device_id').where('campaign_id', '=', campaign).execute();
    const planned = (campaign: string) =>
      campaignRecords(campaign).filter((r) => !/^(created|submitted|approved)\//.test(r));
    for (const campaign of [id, cancelled]) {
      expect(await campaignState(campaign)).toBe('PLANNING');
      expect(await executions(campaign)).toEqual([]);
      expect(planned(campaign)).toEqual([]);
    }
    // An accepted start can still be cancelled: nothing to wait for, it ends at once and is never planned.
    const cancelling = await h.request<Answer>('POST', `/v1/campaigns/${cancelled}/cancel`, {
      key: operator,
      json: { mode: 'graceful' },
    });
    expect(cancelling.status, cancelling.text).toBe(200);
    expect(cancelling.body.state).toBe('CANCELLED');

    // Another replica's ticker plans the first: each target once, started once, and it runs to the end.
    await distributor('plan-2');
    await waitFor(async () => ((await campaignState(id)) === 'RUNNING' ? true : undefined), 'planned');
    expect((await executions(id)).map((e) => e.device_id).sort()).toEqual([...ids].sort());
    const remaining = new Set(ids);
    await waitFor(async () => {
      for (const meter of [...remaining]) if (await update(meter)) remaining.delete(meter);
      return remaining.size === 0 ? true : undefined;
    }, 'every meter updated');
    await campaignTap.waitFor((r) => r.json.campaignId === id && r.json.type === 'completed', 1, 'completed');
    expectNoDuplicates(campaignRecords(id));
    expect(planned(id)).toEqual(['started/-', 'phase-activated/1', 'phase-passed/1', 'completed/-']);
    // The events name the operator who started it, not the replica that planned it.
    const eventOf = (type: string) =>
      campaignTap.records.find((r) => r.json.campaignId === id && r.json.type === type)!.json;
    expect(eventOf('started').actor).toBe(eventOf('submitted').actor);
    await expectCountersKept(id);
    // The cancelled one stayed so, without a plan.
    expect(await campaignState(cancelled)).toBe('CANCELLED');
    expect(await executions(cancelled)).toEqual([]);
    expect(planned(cancelled).filter((r) => r.startsWith('started'))).toEqual([]);
  });

  it('targets that outgrew the shadow run while planning: the plan is refused, the campaign APPROVED again', async () => {
    const [twin, ...targets] = await enrolled(3, 'drift');
    // The projection's hardware revisions (a meter reports its own at check-in): all r1 at the start.
    const revise = (ids: string[], revision: string) =>
      h.db
        .updateTable('devices')
        .set({ hardware_revision: revision })
        .where('tenant_id', '=', tenantId)
        .where('device_id', 'in', ids)
        .execute();
    await revise([twin!, ...targets], 'r1');
    const id = await approved({
      target: { deviceIds: targets },
      phases: onePhase,
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      abort: lenient,
      shadowRun: { twins: [twin] },
    });
    const first = await distributor('drift-1', { OTA_TEST_PAUSE_AT: 'planning', OTA_START_WAIT_MS: '300' });
    const started = await fetch(`${first.url}/v1/campaigns/${id}/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}` },
    });
    expect(started.status).toBe(202);
    await killAtPausePoint(first, 'drift-1', 'planning');
    // A target now reports a revision no twin covers; the replica that plans it again refuses the plan.
    await revise([targets[0]!], 'r2');
    await distributor('drift-2');
    await waitFor(async () => ((await campaignState(id)) === 'APPROVED' ? true : undefined), 'plan refused');
    const view = await h.request<Answer>('GET', `/v1/campaigns/${id}`, { key: operator });
    expect(view.body.state).toBe('APPROVED');
    expect(view.body.planning).toBeUndefined();
    expect(
      await h.db.selectFrom('executions').select('device_id').where('campaign_id', '=', id).execute(),
    ).toEqual([]);
    expect(campaignRecords(id).filter((r) => r.startsWith('started'))).toEqual([]);
    const audited = (
      await h.db.selectFrom('audit_records').select('record').where('tenant_id', '=', tenantId).execute()
    )
      .map(
        (r) =>
          r.record as { action: string; subject: string; outcome: string; detail?: Record<string, unknown> },
      )
      .filter((r) => r.subject === id && r.action === 'ota.campaign-started');
    expect(audited).toEqual([
      expect.objectContaining({
        outcome: 'refused',
        detail: { code: 'SHADOW_TWIN_MISSING', missingRevisions: 'r2' },
      }),
    ]);
    // Started again, the start itself now refuses it, naming the revision.
    const again = await act(id, 'start');
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('SHADOW_TWIN_MISSING');
  });

  it('two replicas tick one campaign at once: each transition once, each meter notified once', async () => {
    const ids = await enrolled(8, 'two');
    await Promise.all([distributor('replica-a'), distributor('replica-b')]);
    const id = await launch({
      target: { deviceIds: ids },
      phases: [
        { name: 'first', size: { count: 4 }, minSoakMinutes: 0, successThresholdPercent: 100 },
        { name: 'rest', size: { percent: 100 }, minSoakMinutes: 0, successThresholdPercent: 100 },
      ],
      rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
      abort: lenient,
    });
    const remaining = new Set(ids);
    await waitFor(async () => {
      for (const meter of [...remaining]) if (await update(meter)) remaining.delete(meter);
      return remaining.size === 0 ? true : undefined;
    }, 'every meter updated');
    await waitFor(
      async () => ((await campaignState(id)) === 'COMPLETED' ? true : undefined),
      'the campaign completed',
    );
    await campaignTap.waitFor((r) => r.json.campaignId === id && r.json.type === 'completed', 1, 'completed');
    const records = campaignRecords(id);
    expectNoDuplicates(records);
    expect(records.filter((r) => r.startsWith('phase-'))).toEqual([
      'phase-activated/1',
      'phase-passed/1',
      'phase-activated/2',
      'phase-passed/2',
    ]);
    await statusTap.waitFor(
      (r) => r.json.campaignId === id && r.json.state === 'SUCCEEDED',
      8,
      'every success on ota.device-status.v2',
    );
    const notified = statusTap.records
      .filter((r) => r.json.campaignId === id && r.json.state === 'NOTIFIED')
      .map((r) => r.json.executionId);
    expect(notified).toHaveLength(8);
    expect(new Set(notified).size).toBe(8);
    const admissions = await h.db
      .selectFrom('executions')
      .select(['execution_id'])
      .where('campaign_id', '=', id)
      .where('admitted_at', 'is not', null)
      .execute();
    expect(admissions).toHaveLength(8);
    const logged = await h.db
      .selectFrom('campaign_admissions')
      .select('execution_id')
      .where('campaign_id', '=', id)
      .execute();
    expect(logged).toHaveLength(8);
    await expectCountersKept(id);
  });
});
