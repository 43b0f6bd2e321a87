import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEVICE_LIFECYCLE,
  ENROLLMENT_DEVICES,
  type FirmwareComplianceClass,
  OTA_CAMPAIGNS_V2,
  OTA_DEVICE_STATUS_V2,
  type OtaCampaignCreate,
  type OtaCampaignV2Event,
  type OtaCampaignView,
  type OtaDeviceStatusV2Event,
} from '@meterkeep/contracts';
import {
  type ActiveFleet,
  type Api,
  type Platform,
  TopicTap,
  WaitAborted,
  activeFleet,
  operatorApi,
  startGroupAtEnd,
  startPlatform,
  waitUntil,
} from '@meterkeep/testing';
import { CampaignDesk, must } from './campaign-kit';
import { kafkaClient } from './telemetry-kit';

// Issue #13 end to end (spec ota.md §6 item 3): a campaign's shadow run on twins that are real meter-sim
// meters (bootstrapped over mutual TLS, updating through `meter-sim fleet update` processes, verifying
// the signed manifest and the image as every meter does), one per hardware revision of the fleet.
// The fleet gets nothing until both twins' receipts are in; then phase 1 opens and the campaign
// completes. A twin whose boot of the new image fails halts the next campaign, and the raw
// ota.device-status.v2 records show that no fleet meter was ever notified. Setup (copied from
// ota-campaign.e2e-spec.ts, kept apart so that spec runs as it is) onboards 20 meters.

const METERS = 20;
const CLASS_ID = 'em300';
const VENDOR_ID = 'test';
const REVISIONS = ['A', 'B'] as const;
type Revision = (typeof REVISIONS)[number];
/** The distributor's device projection's consumer group (apps/ota-distributor CONSUMER_GROUP). */
const DISTRIBUTOR_GROUP = 'ota-distributor';
const STEP_MS = 120_000;
const run = promisify(execFile);

interface FleetRun {
  rounds: number;
  idle: boolean;
  meters: number;
  elapsedMs: number;
  outcomes: Record<string, number>;
}

describe(`OTA campaign shadow run end to end: twins of revisions A and B gate ${METERS - 2} meters`, () => {
  const logs = mkdtempSync(join(tmpdir(), 'meterkeep-ota-shadow-e2e-logs-'));
  const runId = Date.now().toString(36).toUpperCase();
  let platform: Platform;
  let fleet: ActiveFleet;
  let engineer: Api;
  let admin: Api;
  let statusTap: TopicTap;
  let campaignTap: TopicTap;
  const image = randomBytes(16 * 1024);
  /** The fleet's meters by the hardware revision each reports at every check-in. */
  const byRevision = new Map<Revision, string[]>();
  const twins = new Map<Revision, string>();
  let fleetIds: string[] = [];

  let desk: CampaignDesk;
  const accept = (sequenceNumber: number) => desk.accept(sequenceNumber, 'shadow e2e release');
  const launch = (body: OtaCampaignCreate) => desk.launch(body);
  const view = (id: string) => desk.view(id);
  const devices = (id: string, filter: string) => desk.devices(id, filter);

  async function fleetUpdate(deviceIds: readonly string[], revision: Revision, args: string[] = []) {
    const dir = mkdtempSync(join(tmpdir(), 'meterkeep-ota-shadow-e2e-fleet-'));
    for (const id of deviceIds) symlinkSync(join(fleet.batch.statesDir, id), join(dir, id));
    const script = resolve(__dirname, '../../dist/apps/meter-sim/src/main.js');
    const argv = [
      script,
      'fleet',
      'update',
      '--state',
      dir,
      '--ota-poll-seconds',
      '1',
      '--ota-hardware-revisions',
      revision,
      ...args,
      '--json',
    ];
    const stdout = await run(process.execPath, argv, { maxBuffer: 64 * 1024 * 1024, timeout: STEP_MS }).then(
      (done) => done.stdout,
      (error: { stdout?: string; stderr?: string; code?: number }) => {
        if (error.code === 1 && error.stdout?.startsWith('{')) return error.stdout;
        throw new Error(`meter-sim fleet update exited ${error.code}: ${error.stderr ?? ''}`, {
          cause: error,
        });
      },
    );
    return JSON.parse(stdout) as FleetRun;
  }

  /** The fleet meters (not the twins) of these device ids, each run with its own revision. */
  const updateFleet = (deviceIds: readonly string[], args: string[]) =>
    Promise.all(
      REVISIONS.flatMap((revision) => {
        const ids = deviceIds.filter((id) => byRevision.get(revision)!.includes(id));
        return ids.length === 0 ? [] : [fleetUpdate(ids, revision, args)];
      }),
    );
  const oneRound = ['--max-rounds', '1'];
  const untilIdle = ['--until-idle', '--max-rounds', '60'];

  /** The raw ota.device-status.v2 records of a campaign, once each. */
  const statusRecords = (campaignId: string) => {
    const seen = new Set<string>();
    return statusTap.records
      .map((r) => ({ event: r.json as unknown as OtaDeviceStatusV2Event, timestamp: r.timestamp }))
      .filter(
        ({ event }) => event.campaignId === campaignId && !seen.has(event.eventId) && seen.add(event.eventId),
      );
  };
  const campaignEvents = (id: string) =>
    campaignTap.records
      .map((r) => ({ event: r.json as unknown as OtaCampaignV2Event, timestamp: r.timestamp }))
      .filter(({ event }) => event.campaignId === id);

  const waitForCampaign = (id: string, done: (c: OtaCampaignView) => boolean, what: string) =>
    desk.waitFor(id, done, what);

  const campaignBody = (manifestId: string): OtaCampaignCreate => ({
    name: `em300 shadow ${manifestId.slice(0, 8)}`,
    manifestId,
    target: { deviceIds: fleetIds },
    phases: [
      { name: 'canary', size: { count: 4 }, successThresholdPercent: 95, minSoakMinutes: 0 },
      { name: 'rest', size: { percent: 100 }, successThresholdPercent: 95, minSoakMinutes: 0 },
    ],
    rollout: { maxPerMinute: 100_000, perGatewayConcurrency: 100_000 },
    retry: { max: 0 },
    shadowRun: { twins: [twins.get('A')!, twins.get('B')!], timeoutSeconds: 600 },
  });

  beforeAll(async () => {
    const kafka = kafkaClient();
    for (const topic of [ENROLLMENT_DEVICES, DEVICE_LIFECYCLE])
      await waitUntil(() => startGroupAtEnd(kafka, DISTRIBUTOR_GROUP, topic.name).then(() => true), {
        timeoutMs: 90_000,
        description: `${DISTRIBUTOR_GROUP} at the end of ${topic.name}`,
      });
    platform = await startPlatform({ logs, ota: true });
    fleet = await activeFleet(platform, {
      tenantId: `otas-${runId.toLowerCase()}`,
      count: METERS,
      prefix: `OS${runId}M`,
      model: CLASS_ID,
      concurrency: 10,
    });
    const ids = [...fleet.batch.endpointNames].sort();
    // Meter 0 is revision A's twin, meter 1 revision B's; the rest alternate A, B.
    twins.set('A', ids[0]!);
    twins.set('B', ids[1]!);
    fleetIds = ids.slice(2);
    for (const [r, revision] of REVISIONS.entries())
      byRevision.set(
        revision,
        fleetIds.filter((_, i) => i % REVISIONS.length === r),
      );

    admin = operatorApi(platform.ota!.url, fleet.apiKey);
    const { apiKey } = await must<{ apiKey: string }>(fleet.api, 'POST', '/v1/api-keys', {
      role: 'operator',
      name: 'release engineer',
    });
    engineer = operatorApi(platform.ota!.url, apiKey);
    statusTap = await TopicTap.open(kafkaClient(), OTA_DEVICE_STATUS_V2);
    campaignTap = await TopicTap.open(kafkaClient(), OTA_CAMPAIGNS_V2);
    await must(admin, 'PUT', `/v1/firmware/classes/${CLASS_ID}`, { vendorId: VENDOR_ID });
    await must(admin, 'POST', '/v1/firmware/update-authorities', {
      publicKeyPem: readFileSync(join(fleet.batch.dir, 'update.pub.pem'), 'utf8'),
    });
    desk = new CampaignDesk(engineer, admin, {
      vendorId: VENDOR_ID,
      classId: CLASS_ID,
      image,
      authorityKeyFile: fleet.batch.updateAuthorityKeyFile,
    });
    await desk.upload();
    await waitUntil(
      async () => {
        const answer = await engineer('GET', `/v1/compliance?classId=${CLASS_ID}`);
        if (answer.status !== 200) throw new WaitAborted(`compliance answered ${answer.status}`);
        const [known] = (answer.body as { classes: FirmwareComplianceClass[] }).classes;
        return known?.total === METERS;
      },
      { timeoutMs: STEP_MS, intervalMs: 1_000, description: `the distributor to know ${METERS} meters` },
    );
    // Every meter checks in once (no campaign yet): the distributor learns its hardware revision,
    // which the shadow run's coverage is judged on at start.
    await Promise.all([
      updateFleet(fleetIds, oneRound),
      fleetUpdate([twins.get('A')!], 'A', oneRound),
      fleetUpdate([twins.get('B')!], 'B', oneRound),
    ]);
  }, 6 * STEP_MS);

  afterAll(async () => {
    await statusTap?.close();
    await campaignTap?.close();
    await platform?.stop();
  });

  it(
    'the fleet gets nothing until both twins booted the real signed image; then phase 1 opens and the campaign completes',
    async () => {
      const release = await accept(1);
      const id = await launch(campaignBody(release.manifestId));
      const started = await view(id);
      expect(started.shadow).toEqual({ state: 'ACTIVE', twins: 2, counts: { QUEUED: 2 } });
      expect(started.phases.map((p) => [p.state, p.targets])).toEqual([
        ['PENDING', 4],
        ['PENDING', METERS - 6],
      ]);
      // The twins are listed on the devices route on request, in no phase of the fleet.
      const listed = await devices(id, 'shadowRun=true');
      expect(listed.map((d) => [d.deviceId, d.shadowRun, d.state])).toEqual([
        [twins.get('A'), true, 'QUEUED'],
        [twins.get('B'), true, 'QUEUED'],
      ]);
      expect((await devices(id, 'phase=1')).every((d) => d.shadowRun === undefined)).toBe(true);

      // The fleet's meters check in while the run is open: nothing for any of them.
      const idle = await updateFleet(fleetIds, ['--max-rounds', '2']);
      for (const result of idle) expect(result.outcomes).toEqual({ IDLE: result.meters });
      expect(statusRecords(id)).toEqual([]);
      expect((await view(id)).phases.map((p) => p.state)).toEqual(['PENDING', 'PENDING']);

      // Revision A's twin boots the image: phase 1 still waits for B's.
      const twinA = await fleetUpdate([twins.get('A')!], 'A', untilIdle);
      expect(twinA.outcomes).toEqual({ SUCCEEDED: 1 });
      expect((await view(id)).shadow).toMatchObject({ state: 'ACTIVE', counts: { SUCCEEDED: 1, QUEUED: 1 } });
      await updateFleet(fleetIds, oneRound);
      expect(statusRecords(id).filter(({ event }) => fleetIds.includes(event.deviceId))).toEqual([]);

      const twinB = await fleetUpdate([twins.get('B')!], 'B', untilIdle);
      expect(twinB.outcomes).toEqual({ SUCCEEDED: 1 });
      const opened = await waitForCampaign(id, (c) => c.phases[0]!.state === 'ACTIVE', 'phase 1 to open');
      expect(opened.shadow).toEqual({ state: 'PASSED', twins: 2, counts: { SUCCEEDED: 2 } });

      // Each twin's success is a verified receipt, recorded before any fleet meter's first record.
      const twinIds = [...twins.values()];
      const twinSucceeded = statusRecords(id).filter(
        ({ event }) => twinIds.includes(event.deviceId) && event.state === 'SUCCEEDED',
      );
      expect(twinSucceeded.map(({ event }) => event.deviceId).sort()).toEqual(twinIds);
      expect(twinSucceeded.every(({ event }) => /^[0-9a-f]{64}$/.test(event.receiptDigest ?? ''))).toBe(true);
      expect(
        statusRecords(id)
          .filter(({ event }) => twinIds.includes(event.deviceId))
          .every(({ event }) => event.shadowRun === true && event.phase === undefined),
      ).toBe(true);

      for (const phase of [1, 2]) {
        const members = await waitUntil(
          async () => {
            const all = await devices(id, `phase=${phase}`);
            return all.every((m) => m.admittedAt !== null) ? all : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 500, description: `phase ${phase}'s admissions` },
        );
        await updateFleet(
          members.map((m) => m.deviceId),
          untilIdle,
        );
        await waitForCampaign(id, (c) => c.phases[phase - 1]!.state === 'PASSED', `phase ${phase} to pass`);
      }
      const done = await waitForCampaign(id, (c) => c.state === 'COMPLETED', 'the campaign to complete');
      expect(done.counts).toEqual({ SUCCEEDED: METERS - 2 });
      expect(done.shadow).toEqual({ state: 'PASSED', twins: 2, counts: { SUCCEEDED: 2 } });

      const lastTwin = Math.max(...twinSucceeded.map(({ timestamp }) => Number(timestamp)));
      const fleetRecords = statusRecords(id).filter(({ event }) => fleetIds.includes(event.deviceId));
      expect(new Set(fleetRecords.map(({ event }) => event.deviceId)).size).toBe(METERS - 2);
      expect(Math.min(...fleetRecords.map(({ timestamp }) => Number(timestamp)))).toBeGreaterThanOrEqual(
        lastTwin,
      );
      const [activated] = await campaignTap.waitFor(
        (r) => r.json.campaignId === id && r.json.type === 'phase-activated' && r.json.phase === 1,
        1,
        'phase 1 activated',
      );
      expect(activated!.json).toMatchObject({
        shadow: { outcome: 'passed', twins: 2, succeeded: 2, failed: 0 },
      });
      expect(campaignEvents(id).some(({ event }) => event.type === 'halted')).toBe(false);
    },
    4 * STEP_MS,
  );

  it(
    "a twin fails to boot the image: the campaign halts with the shadow run's failure and no fleet meter receives anything",
    async () => {
      const release = await accept(2);
      const id = await launch(campaignBody(release.manifestId));
      // Revision B's twin cannot boot this image (meter-sim's fault injection: it never confirms).
      const failed = await fleetUpdate([twins.get('B')!], 'B', [...untilIdle, '--ota-boot-fail-rate', '1']);
      expect(failed.outcomes).toEqual({ ROLLED_BACK: 1 });
      const halted = await waitForCampaign(id, (c) => c.state === 'HALTED', 'the shadow halt');
      expect(halted.shadow).toMatchObject({ state: 'FAILED', twins: 2, counts: { ROLLED_BACK: 1 } });
      expect(halted.phases.map((p) => p.state)).toEqual(['PENDING', 'PENDING']);
      const [haltEvent] = await campaignTap.waitFor(
        (r) => r.json.campaignId === id && r.json.type === 'halted',
        1,
        'halted',
      );
      expect(haltEvent!.json).toMatchObject({
        shadow: { outcome: 'failed', twins: 2, succeeded: 0, failed: 1 },
        counts: { targets: METERS - 2, notified: 0 },
      });

      // After the halt every other meter checks in, twin A too: nothing for any of them.
      const after = await Promise.all([
        updateFleet(fleetIds, ['--max-rounds', '2']),
        fleetUpdate([twins.get('A')!], 'A', ['--max-rounds', '2']),
      ]);
      for (const result of [...after[0], after[1]]) expect(result.outcomes).toEqual({ IDLE: result.meters });
      expect(campaignEvents(id).filter(({ event }) => event.type === 'halted')).toHaveLength(1);
      expect(campaignEvents(id).some(({ event }) => event.type === 'phase-activated')).toBe(false);
      // The raw records name twin B alone; no fleet meter was ever admitted.
      const records = statusRecords(id);
      expect(records.map(({ event }) => event.state)).toContain('ROLLED_BACK');
      expect(new Set(records.map(({ event }) => event.deviceId))).toEqual(new Set([twins.get('B')]));
      const members = await devices(id, '');
      expect(members).toHaveLength(METERS - 2);
      expect(members.every((m) => m.state === 'QUEUED' && m.admittedAt === null)).toBe(true);
    },
    3 * STEP_MS,
  );
});
