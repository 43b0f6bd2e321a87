import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
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
  type OtaExecutionState,
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

// Issue #13 end to end (spec ota.md §6.4–§6.7, §6.9 B8): campaigns over a fleet of real meter-sim meters
// (bootstrapped over mutual TLS, updating through `meter-sim fleet update` processes) and the
// distributor as built. A campaign in three phases completes; a campaign whose phase-2 meters fail to
// boot the new image at 30 % halts by itself, and the raw ota.device-status.v2 records show that no
// meter was exposed to the image unless it was notified before the crossing, and none after the halt.
//
// The fleet's size: E2E_CAMPAIGN_METERS (default 150, a few minutes on two cores; the spec's figure is
// 10,000, run by hand: `E2E_CAMPAIGN_METERS=10000 npx vitest run --project e2e test/e2e/ota-campaign.e2e-spec.ts`).

const METERS = Number(process.env.E2E_CAMPAIGN_METERS ?? 150);
if (!Number.isInteger(METERS) || METERS < 100)
  throw new Error(`E2E_CAMPAIGN_METERS must be a whole number ≥ 100, not ${process.env.E2E_CAMPAIGN_METERS}`);
/** The canary: 1 % of the fleet, at least 5 meters. */
const CANARY = Math.max(5, Math.round(METERS / 100));
/**
 * Time a step of the size of the fleet may take on two busy cores: the distributor ingests ~50 statuses a
 * second (test/bench/README.md, ota-campaign d), ~7 per meter. A bound for a hung run, not a measure.
 */
const fleetMs = (meters: number) => 120_000 + meters * 600;
/**
 * How long the distributor's outbox relay and its own ticks (admission, phase advance) may trail a
 * fleet-sized step: a minute at the default size, 60 ms a meter beyond (10 minutes at 10,000).
 */
const lagMs = Math.max(60_000, METERS * 60);

/** The distributor's device projection's consumer group (apps/ota-distributor CONSUMER_GROUP). */
const DISTRIBUTOR_GROUP = 'ota-distributor';
const CLASS_ID = 'em300';
const VENDOR_ID = 'test';
/** Executions not finished yet (spec §6.4). */
const UNFINISHED: readonly OtaExecutionState[] = [
  'QUEUED',
  'NOTIFIED',
  'DOWNLOADING',
  'DOWNLOADED',
  'VERIFIED',
  'INSTALLING',
  'REBOOTING',
  'CONFIRMING',
];
/** States a meter reports once it began writing the image: it received and ran it. */
const EXPOSED: readonly OtaExecutionState[] = [
  'INSTALLING',
  'REBOOTING',
  'CONFIRMING',
  'SUCCEEDED',
  'ROLLED_BACK',
];
const FAILURE_TYPES = ['FAILED', 'REJECTED', 'ROLLED_BACK', 'TIMED_OUT'] as const;
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const run = promisify(execFile);

interface FleetRun {
  rounds: number;
  idle: boolean;
  meters: number;
  elapsedMs: number;
  outcomes: Record<string, number>;
}

type Counts = Partial<Record<OtaExecutionState, number>>;

describe(`OTA campaigns end to end: ${METERS} real meters in phases, auto-halt`, () => {
  const logs = mkdtempSync(join(tmpdir(), 'meterkeep-ota-campaign-e2e-logs-'));
  const runId = Date.now().toString(36).toUpperCase();
  let platform: Platform;
  let fleet: ActiveFleet;
  /** The release engineer (operator) creates and runs campaigns; the tenant's admin approves them. */
  let engineer: Api;
  let admin: Api;
  let statusTap: TopicTap;
  let campaignTap: TopicTap;
  const image = randomBytes(16 * 1024);
  const figures: string[] = [];
  /** A figure of this run, also written at once to figures.txt beside the services' logs. */
  const note = (line: string) => {
    figures.push(line);
    appendFileSync(join(logs, 'figures.txt'), `${new Date().toISOString()} ${line}\n`);
  };

  let desk: CampaignDesk;
  const accept = (sequenceNumber: number) => desk.accept(sequenceNumber, 'campaign e2e release');
  const launch = (body: OtaCampaignCreate) => desk.launch(body);
  const view = (id: string) => desk.view(id);
  /** A phase's members (every page). */
  const members = (id: string, phase: number) => desk.devices(id, `phase=${phase}`);

  /** The meters as their own fleet folder (the fleet's state folders, linked): one fault set per run. */
  function fleetOf(deviceIds: readonly string[]): string {
    const dir = mkdtempSync(join(tmpdir(), 'meterkeep-ota-campaign-e2e-fleet-'));
    for (const id of deviceIds) symlinkSync(join(fleet.batch.statesDir, id), join(dir, id));
    return dir;
  }

  /**
   * `meter-sim fleet update --until-idle` over these meters as its own process, as an operator runs it
   * (as built; no 10-minute cap: a phase of 9,000 meters takes longer). A run that ends with executions
   * still active (exit 1) still reports what it did.
   */
  async function fleetUpdate(deviceIds: readonly string[], args: string[] = []): Promise<FleetRun> {
    const script = resolve(__dirname, '../../dist/apps/meter-sim/src/main.js');
    const argv = [
      script,
      'fleet',
      'update',
      '--state',
      fleetOf(deviceIds),
      '--until-idle',
      '--ota-poll-seconds',
      '1',
      '--max-rounds',
      '60',
      ...args,
      '--json',
    ];
    const options = { maxBuffer: 512 * 1024 * 1024, timeout: fleetMs(deviceIds.length) };
    const stdout = await run(process.execPath, argv, options).then(
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

  /** The raw ota.device-status.v2 records of a campaign, once each (a relay may publish one again). */
  function statusRecords(campaignId: string) {
    const seen = new Set<string>();
    return statusTap.records
      .map((r) => ({ event: r.json as unknown as OtaDeviceStatusV2Event, timestamp: r.timestamp }))
      .filter(
        ({ event }) => event.campaignId === campaignId && !seen.has(event.eventId) && seen.add(event.eventId),
      );
  }

  /**
   * Per phase, the executions by state as the raw records say: each execution's last record (one
   * device's records share a partition, so Kafka holds them in order); an execution with no record yet
   * was never notified (QUEUED: a campaign's start announces no execution one by one).
   */
  function rawCounts(campaignId: string, campaign: OtaCampaignView): Map<number, Counts> {
    const last = new Map<string, OtaDeviceStatusV2Event>();
    for (const { event } of statusRecords(campaignId)) last.set(event.executionId, event);
    const byPhase = new Map<number, Counts>();
    for (const phase of campaign.phases) byPhase.set(phase.phase, {});
    for (const event of last.values()) {
      const counts = byPhase.get(event.phase!)!;
      counts[event.state] = (counts[event.state] ?? 0) + 1;
    }
    for (const phase of campaign.phases) {
      const counts = byPhase.get(phase.phase)!;
      const reported = Object.values(counts).reduce((sum, n) => sum + n, 0);
      if (phase.targets > reported) counts.QUEUED = phase.targets - reported;
    }
    return byPhase;
  }

  /** Waits until the raw records have caught up with the distributor's counters, then compares them. */
  async function expectCountersFromRaw(campaignId: string): Promise<OtaCampaignView> {
    const campaign = await view(campaignId);
    const kept = new Map(campaign.phases.map((p) => [p.phase, p.counts]));
    // Key order aside (the counters' and the records' states come in different orders).
    const sorted = (m: Map<number, Counts>) =>
      [...m].map(([phase, counts]) => [phase, Object.fromEntries(Object.entries(counts).sort())]);
    await waitUntil(
      () => JSON.stringify(sorted(rawCounts(campaignId, campaign))) === JSON.stringify(sorted(kept)),
      {
        timeoutMs: lagMs,
        description: `the raw status records of ${campaignId} to reach its counters`,
      },
    ).catch(() => undefined);
    expect(sorted(rawCounts(campaignId, campaign))).toEqual(sorted(kept));
    return campaign;
  }

  const unfinished = (counts: Counts) => UNFINISHED.reduce((sum, state) => sum + (counts[state] ?? 0), 0);

  /**
   * Runs one phase to its end: waits until admission let all its members out (the rollout rate is no
   * limit here), then runs their meters until none is unfinished (a meter that checked in a moment before
   * its admission is idle in that run: run again).
   */
  async function runPhase(campaignId: string, phase: number, args: string[] = []): Promise<void> {
    const started = performance.now();
    const phaseMembers = await waitUntil(
      async () => {
        const all = await members(campaignId, phase);
        return all.every((m) => m.admittedAt !== null) ? all : undefined;
      },
      { timeoutMs: 2 * lagMs, intervalMs: 500, description: `phase ${phase}'s admissions` },
    );
    for (let attempt = 1; ; attempt += 1) {
      const result = await fleetUpdate(
        phaseMembers.map((m) => m.deviceId),
        args,
      );
      const counts = (await view(campaignId)).phases[phase - 1]!.counts;
      note(
        `phase ${phase}: ${phaseMembers.length} meters, run ${attempt} ${(result.elapsedMs / 1000).toFixed(1)} s ` +
          `(${result.rounds} rounds) ${JSON.stringify(result.outcomes)}`,
      );
      if (unfinished(counts) === 0) break;
      if (attempt === 5) throw new Error(`phase ${phase} still unfinished: ${JSON.stringify(counts)}`);
    }
    note(`phase ${phase}: done in ${seconds(started)}`);
  }

  const waitForCampaign = (id: string, done: (c: OtaCampaignView) => boolean, what: string) =>
    desk.waitFor(id, done, what, lagMs);

  const campaignEvents = (id: string) => {
    const seen = new Set<string>();
    return campaignTap.records
      .map((r) => ({ event: r.json as unknown as OtaCampaignV2Event, timestamp: r.timestamp }))
      .filter(({ event }) => event.campaignId === id && !seen.has(event.eventId) && seen.add(event.eventId));
  };

  beforeAll(
    async () => {
      const started = performance.now();
      // The distributor's projection follows the registry from its group's offsets: start it at the
      // topics' ends, as a new installation's would (earlier suites leave many device events behind).
      const kafka = kafkaClient();
      for (const topic of [ENROLLMENT_DEVICES, DEVICE_LIFECYCLE])
        await waitUntil(() => startGroupAtEnd(kafka, DISTRIBUTOR_GROUP, topic.name).then(() => true), {
          timeoutMs: 90_000,
          description: `${DISTRIBUTOR_GROUP} at the end of ${topic.name}`,
        });
      // Every meter-sim meter here comes from 127.0.0.1 and keeps its own connection: past the
      // distributor's 1,000 connections per source, a 9,000-meter phase's check-ins were refused until
      // they gave up, so that fleet never went idle. In the field each meter is a source of its own.
      platform = await startPlatform({
        logs,
        ota: true,
        otaEnv: { DEVICE_MAX_CONNECTIONS_PER_SOURCE: String(Math.max(1_000, METERS + 100)) },
      });
      const onboarding = performance.now();
      fleet = await activeFleet(platform, {
        tenantId: `otac-${runId.toLowerCase()}`,
        count: METERS,
        prefix: `OC${runId}M`,
        model: CLASS_ID,
        concurrency: 32,
      });
      note(`onboarding: ${METERS} meters minted, enrolled, bootstrapped, ACTIVE in ${seconds(onboarding)}`);
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
      // A campaign targets the meters the distributor's device directory knows: all of them, first.
      await waitUntil(
        async () => {
          const answer = await engineer('GET', `/v1/compliance?classId=${CLASS_ID}`);
          if (answer.status !== 200) throw new WaitAborted(`compliance answered ${answer.status}`);
          const [known] = (answer.body as { classes: FirmwareComplianceClass[] }).classes;
          return known?.total === METERS;
        },
        {
          timeoutMs: fleetMs(METERS),
          intervalMs: 1_000,
          description: `the distributor to know ${METERS} meters`,
        },
      );
      note(`set-up (platform, fleet, directory): ${seconds(started)}`);
    },
    fleetMs(METERS) * 3,
  );

  afterAll(async () => {
    await statusTap?.close();
    await campaignTap?.close();
    await platform?.stop();
    if (figures.length > 0) console.log(`ota-campaign e2e (${METERS} meters):\n  ${figures.join('\n  ')}`);
  });

  it(
    `a campaign of three phases (canary ${CANARY}, 10 %, the rest) completes; every counter is what the raw status records say`,
    async () => {
      const started = performance.now();
      const release = await accept(1);
      const id = await launch({
        name: 'em300 3.0.1',
        manifestId: release.manifestId,
        target: { query: {} },
        phases: [
          { name: 'canary', size: { count: CANARY }, successThresholdPercent: 95, minSoakMinutes: 0 },
          { name: '10%', size: { percent: 10 }, successThresholdPercent: 95, minSoakMinutes: 0 },
          { name: 'rest', size: { percent: 100 }, successThresholdPercent: 95, minSoakMinutes: 0 },
        ],
        rollout: { maxPerMinute: 100_000, perGatewayConcurrency: 100_000 },
        retry: { max: 0 },
      });
      const planned = await view(id);
      expect(planned.phases.map((p) => p.targets)).toEqual([
        CANARY,
        Math.ceil(METERS / 10) - CANARY,
        METERS - Math.ceil(METERS / 10),
      ]);

      for (const phase of [1, 2, 3]) {
        await runPhase(id, phase);
        // Soak 0: a phase that met its threshold passes, and the next opens, by themselves.
        await waitForCampaign(id, (c) => c.phases[phase - 1]!.state === 'PASSED', `phase ${phase} to pass`);
      }
      const done = await waitForCampaign(id, (c) => c.state === 'COMPLETED', 'the campaign to complete');
      note(`campaign 1 (three phases) COMPLETED in ${seconds(started)}`);
      expect(done.counts).toEqual({ SUCCEEDED: METERS });
      for (const phase of done.phases)
        expect(phase).toMatchObject({ state: 'PASSED', counts: { SUCCEEDED: phase.targets } });

      await expectCountersFromRaw(id);
      // Each execution succeeded once, on a verified receipt.
      const succeeded = statusRecords(id).filter(({ event }) => event.state === 'SUCCEEDED');
      expect(new Set(succeeded.map(({ event }) => event.executionId)).size).toBe(METERS);
      expect(succeeded.every(({ event }) => /^[0-9a-f]{64}$/.test(event.receiptDigest ?? ''))).toBe(true);
      await campaignTap.waitFor(
        (r) => r.json.campaignId === id && r.json.type === 'completed',
        1,
        `completed of ${id}`,
        lagMs,
      );
      const types = campaignEvents(id).map(({ event }) => event.type);
      expect(types.filter((t) => t === 'phase-passed')).toHaveLength(3);
      expect(types.filter((t) => t === 'completed')).toHaveLength(1);
      expect(types).not.toContain('halted');
    },
    fleetMs(METERS) * 2,
  );

  it(
    'phase-2 meters failing to boot at 30 %: the campaign halts by itself, once; only meters notified before the crossing ran the image, none is notified after',
    async () => {
      const started = performance.now();
      const release = await accept(2);
      const halfway = Math.ceil(METERS / 2);
      // Admission at a rate that lets phase 2 out in about four portions of at least 20 (the rule's
      // minimum of 10 executed, twice) after the canary's: the halt comes while some of it still waits
      // behind the rate.
      const rate = CANARY + Math.max(20, Math.ceil((halfway - CANARY) / 4));
      const id = await launch({
        name: 'em300 3.0.2',
        manifestId: release.manifestId,
        target: { query: {} },
        phases: [
          { name: 'canary', size: { count: CANARY }, successThresholdPercent: 95, minSoakMinutes: 0 },
          { name: 'half', size: { percent: 50 }, successThresholdPercent: 95, minSoakMinutes: 0 },
          { name: 'rest', size: { percent: 100 }, successThresholdPercent: 95, minSoakMinutes: 0 },
        ],
        rollout: { maxPerMinute: rate, perGatewayConcurrency: 100_000 },
        abort: [{ scope: 'phase', failureTypes: [...FAILURE_TYPES], thresholdPercent: 10, minExecuted: 10 }],
        retry: { max: 0 },
      });

      // Phase 1: the canary boots the image fine.
      await runPhase(id, 1);
      await waitForCampaign(id, (c) => c.phases[1]!.state === 'ACTIVE', 'phase 2 to open');

      // Phase 2: its meters fail to confirm the new image 30 % of the time, their own meter-sim process.
      const phase2 = (await members(id, 2)).map((m) => m.deviceId);
      const phase3 = (await members(id, 3)).map((m) => m.deviceId);
      expect(phase2.length).toBe(halfway - CANARY);
      let campaign = await view(id);
      for (let attempt = 1; campaign.state === 'RUNNING'; attempt += 1) {
        const result = await fleetUpdate(phase2, ['--ota-boot-fail-rate', '0.3']);
        note(
          `halt campaign phase 2 run ${attempt}: ${(result.elapsedMs / 1000).toFixed(1)} s ${JSON.stringify(result.outcomes)}`,
        );
        // Until it halts, or admission lets more of phase 2 out (the next minute's tokens), or nothing is
        // left to run (then it never halted).
        campaign = await waitUntil(
          async () => {
            const now = await view(id);
            if (now.state !== 'RUNNING') return now;
            const counts = now.phases[1]!.counts;
            const waiting = (await members(id, 2)).filter(
              (m) => m.state === 'QUEUED' && m.admittedAt !== null,
            );
            return waiting.length > 0 || unfinished(counts) === 0 ? now : undefined;
          },
          { timeoutMs: 90_000, intervalMs: 500, description: 'a halt or more admissions' },
        );
        if (unfinished(campaign.phases[1]!.counts) === 0) break;
      }
      note(`halt campaign: ${campaign.state} after ${seconds(started)}`);
      expect(campaign).toMatchObject({ state: 'HALTED', haltCode: 'ABORT_RULE' });
      const reason = campaign.haltReason!;
      expect(reason).toMatchObject({ rule: 0, phase: 2 });
      expect(reason.executed).toBeGreaterThanOrEqual(10);
      expect(reason.failed / reason.executed).toBeGreaterThanOrEqual(0.1);
      const admittedAtHalt = (await members(id, 2)).filter((m) => m.admittedAt !== null).length;

      // The meters go on checking in after the halt: phase 2's (the notified that had not begun
      // installing are cancelled, those installing finish) and phase 3's (never admitted).
      const after = await fleetUpdate([...phase2, ...phase3], ['--ota-boot-fail-rate', '0.3']);
      note(`after the halt, ${phase2.length + phase3.length} meters: ${JSON.stringify(after.outcomes)}`);
      const ended = await view(id);
      expect(ended.state).toBe('HALTED');
      // No admission after the halt (the distributor's own record of its tokens).
      expect((await members(id, 2)).filter((m) => m.admittedAt !== null)).toHaveLength(admittedAtHalt);
      expect((await members(id, 3)).filter((m) => m.admittedAt !== null)).toHaveLength(0);
      await expectCountersFromRaw(id);

      // Exactly one halted event, naming the rule and the counts it crossed on.
      const [halted] = await campaignTap.waitFor(
        (r) => r.json.campaignId === id && r.json.type === 'halted',
        1,
        `halted of ${id}`,
        lagMs,
      );
      expect(campaignEvents(id).filter(({ event }) => event.type === 'halted')).toHaveLength(1);
      expect(halted!.json).toMatchObject({
        phase: 2,
        reason: { rule: 0, scope: 'phase', failed: reason.failed, executed: reason.executed },
      });

      // From the raw status records. The halted event is written in the transaction of the crossing
      // status, and a first directive (NOTIFIED) is issued under a share lock on the campaign: every
      // notification committed before the crossing's commit is ahead of the halted event in the outbox,
      // which the relay publishes in order, so its record is timestamped no later than the halted record.
      // A meter's own NOTIFIED report (its acknowledgement) is recorded but not published: each
      // NOTIFIED record is a transition, one per execution and attempt.
      const haltAt = halted!.timestamp;
      const records = statusRecords(id);
      const notified = records.filter(({ event }) => event.state === 'NOTIFIED');
      const transitions = new Set(notified.map(({ event }) => `${event.executionId}/${event.attempt}`));
      expect(transitions.size).toBe(notified.length);
      const notifiedAfterHalt = notified.filter(({ timestamp }) => timestamp > haltAt);
      expect(notifiedAfterHalt.map(({ event }) => event.deviceId)).toEqual([]);
      const notifiedBefore = new Set(notified.map(({ event }) => event.deviceId));
      const exposed = new Set(
        records.filter(({ event }) => EXPOSED.includes(event.state)).map(({ event }) => event.deviceId),
      );
      const exposedPhase2 = [...exposed].filter((d) => phase2.includes(d));
      expect([...exposed].filter((d) => !notifiedBefore.has(d))).toEqual([]);
      expect(exposed.size).toBeLessThanOrEqual(notifiedBefore.size);
      expect(records.filter(({ event }) => phase3.includes(event.deviceId))).toEqual([]);
      // Each exposed meter ran this campaign's image.
      expect(
        records
          .filter(({ event }) => EXPOSED.includes(event.state))
          .every(({ event }) => event.manifestDigest === release.manifestDigest),
      ).toBe(true);
      // The halt bounded the exposure: part of phase 2 never got the image.
      const neverNotified = phase2.filter((d) => !notifiedBefore.has(d));
      expect(neverNotified.length).toBeGreaterThan(0);
      note(
        `halt: rule crossed at ${reason.failed}/${reason.executed}; phase 2 of ${phase2.length}: ` +
          `${admittedAtHalt} admitted, ${notifiedBefore.size - CANARY} notified before the crossing, ` +
          `${exposedPhase2.length} ran the image, ${neverNotified.length} never notified; phase 3 (${phase3.length}) untouched`,
      );
    },
    fleetMs(METERS),
  );
});
