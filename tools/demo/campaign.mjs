// The next release goes out as a campaign: the utility signs 2.1.0 offline (a higher sequence, a small
// image so the demo stays quick), a release engineer's operator key creates a campaign over the first
// meters (a named canary, then the rest), the admin approves it (never its creator), and it runs:
// admission lets directives out at the rollout rate, the canary meets its threshold and waits out its
// soak until the operator opens the rest, and the campaign completes. The meter handed a tampered image
// fails in the canary, under the halt rule, so the campaign goes on. Compliance before and after.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CLASS_ID, releaseManifest, signAndSubmit, uploadImage } from './firmware.mjs';
import { DemoError, api, runCli, say } from './run.mjs';

const KIB = 1024;
/** Meters the campaign targets: enough for a canary and a second phase, few enough to stay quick. */
const CAMPAIGN_METERS = 60;
const CANARY_METERS = 10;
const UNFINISHED = [
  'QUEUED',
  'NOTIFIED',
  'DOWNLOADING',
  'DOWNLOADED',
  'VERIFIED',
  'INSTALLING',
  'REBOOTING',
  'CONFIRMING',
];
export const FAILURES = ['FAILED', 'REJECTED', 'ROLLED_BACK', 'TIMED_OUT'];
export const sum = (counts, states) => states.reduce((total, state) => total + (counts[state] ?? 0), 0);

export async function firmwareCampaign({
  otaUrl,
  enrollmentUrl,
  apiKey,
  dir,
  authority,
  statesDir,
  meterIds,
  tampered = 1,
}) {
  const started = performance.now();
  const work = join(dir, 'campaign');
  mkdirSync(work, { recursive: true, mode: 0o700 });
  // meter-sim's fleet is in endpoint-name order: --limit and --ota-tamper-meters take its first meters.
  const targets = [...meterIds].sort().slice(0, CAMPAIGN_METERS);
  const canary = targets.slice(0, CANARY_METERS);

  const { apiKey: engineer } = await api(enrollmentUrl, apiKey, 'POST', '/v1/api-keys', {
    json: { role: 'operator', name: 'release engineer' },
  });
  say('enrollment: an operator key for the release engineer; the admin approves what it creates');

  const image = randomBytes(256 * KIB);
  say(`utility: uploading app image 2.1.0 (${image.length / KIB} KiB)`);
  const app = await uploadImage(otaUrl, engineer, 'app', image);
  const manifest = releaseManifest({ sequenceNumber: 2, version: '2.1.0', app });
  const accepted = await signAndSubmit({ otaUrl, apiKey: engineer, work, authority, manifest });
  say(`ota-distributor: manifest accepted (sequence ${accepted.sequenceNumber}, ${accepted.manifestId})`);
  const before = await compliance(otaUrl, engineer);

  const created = await api(otaUrl, engineer, 'POST', '/v1/campaigns', {
    json: {
      name: 'em300 2.1.0',
      manifestId: accepted.manifestId,
      target: { deviceIds: targets },
      phases: [
        // The meters of the first deployment are the canary; its soak is cut short by the operator.
        { name: 'canary', size: { deviceIds: canary }, successThresholdPercent: 80, minSoakMinutes: 60 },
        { name: 'rest', size: { percent: 100 }, successThresholdPercent: 95, minSoakMinutes: 0 },
      ],
      rollout: { maxPerMinute: 120, perGatewayConcurrency: 100 },
      // Halt a phase once a fifth of at least ten meters that ran it failed.
      abort: [{ scope: 'phase', thresholdPercent: 20, minExecuted: 10 }],
      retry: { max: 0 },
    },
  });
  const id = created.campaignId;
  const simulated = await api(otaUrl, engineer, 'POST', `/v1/campaigns/${id}/simulate`);
  say(
    `utility: campaign ${id} (DRAFT): simulate says ${simulated.targets} meters, ` +
      `${simulated.phases.map((p) => `${p.name} ${p.devices}`).join(', ')}, ` +
      `${(simulated.bytes.total / KIB / KIB).toFixed(1)} MiB to download`,
  );
  await api(otaUrl, engineer, 'POST', `/v1/campaigns/${id}/submit`);
  const approved = await api(otaUrl, apiKey, 'POST', `/v1/campaigns/${id}/approve`);
  say(`utility: submitted by ${approved.submittedBy}, approved by ${approved.decidedBy} (the admin)`);
  await api(otaUrl, engineer, 'POST', `/v1/campaigns/${id}/start`);
  say('utility: campaign started; phase 1 (canary) admits its meters at the rollout rate');

  const updateRun = (phase) =>
    runPhase({
      otaUrl,
      apiKey: engineer,
      id,
      phase,
      statesDir,
      limit: targets.length,
      flags: ['--ota-tamper-meters', String(tampered)],
    });
  await updateRun(1);
  const soaking = await waitForCampaign(
    otaUrl,
    engineer,
    id,
    (c) => c.phases[0].state === 'SOAKING',
    'the canary to meet its threshold',
  );
  say(
    `ota-distributor: canary ${countsText(soaking.phases[0])}: threshold met, soaking ${soaking.phases[0].minSoakMinutes} min`,
  );
  await api(otaUrl, engineer, 'POST', `/v1/campaigns/${id}/next-phase`);
  say('utility: the operator opens phase 2 (rest) without waiting out the soak (next-phase)');
  if (targets.length > canary.length) await updateRun(2);
  const done = await waitForCampaign(
    otaUrl,
    engineer,
    id,
    (c) => c.state !== 'RUNNING',
    'the campaign to complete',
  );
  const after = await compliance(otaUrl, engineer);

  const devices = await api(otaUrl, engineer, 'GET', `/v1/campaigns/${id}/devices?limit=1000`);
  console.log('');
  console.log(
    `${'phase'.padEnd(10)}${'meters'.padEnd(8)}${'admitted'.padEnd(10)}${'succeeded'.padEnd(11)}${'failed'.padEnd(8)}state`,
  );
  for (const phase of done.phases) {
    const admitted = devices.items.filter((d) => d.phase === phase.phase && d.admittedAt !== null).length;
    console.log(
      `${phase.name.padEnd(10)}${String(phase.targets).padEnd(8)}${String(admitted).padEnd(10)}` +
        `${String(phase.counts.SUCCEEDED ?? 0).padEnd(11)}${String(sum(phase.counts, FAILURES)).padEnd(8)}${phase.state}`,
    );
  }
  for (const failed of devices.items.filter((d) => FAILURES.includes(d.state)))
    console.log(`  ${failed.deviceId} ${failed.state} ${failed.failureCode ?? ''} (phase ${failed.phase})`);
  console.log('');
  console.log(
    `${'compliance'.padEnd(18)}${'latest'.padEnd(8)}${'meters'.padEnd(8)}${'on latest'.padEnd(11)}${'in progress'.padEnd(13)}available`,
  );
  for (const [label, view] of [
    ['before campaign', before],
    ['after campaign', after],
  ])
    console.log(
      `${label.padEnd(18)}${`seq ${view.latest?.sequenceNumber ?? '-'}`.padEnd(8)}${String(view.total).padEnd(8)}` +
        `${String(view.onLatest).padEnd(11)}${String(view.updateInProgress).padEnd(13)}${view.newUpdateAvailable}`,
    );
  console.log('');

  const succeeded = done.counts.SUCCEEDED ?? 0;
  const failed = sum(done.counts, FAILURES);
  say(
    `ota-distributor: campaign ${done.state}, ${succeeded} succeeded, ${failed} failed, halt ${done.haltReason ? JSON.stringify(done.haltReason) : 'none'} (the campaign step took ${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  if (done.state !== 'COMPLETED' || succeeded !== targets.length - tampered || failed !== tampered)
    throw new DemoError(
      `expected the campaign COMPLETED with ${tampered} failure(s), it is ${done.state} ${JSON.stringify(done.counts)}`,
    );
  if (after.onLatest !== before.onLatest + succeeded)
    throw new DemoError(
      `expected ${before.onLatest + succeeded} meters on the latest firmware, compliance says ${after.onLatest}`,
    );
  // The next step re-issues this release: its image (already verified) and the engineer's key.
  return { engineer, app, version: manifest.components[0].version, sequenceNumber: accepted.sequenceNumber };
}

/**
 * Waits until admission let the phase's meters in, then runs the first `limit` meters of the fleet (with
 * meter-sim's fault `flags`) until none of the phase is unfinished (none in flight, once the campaign
 * halted); answers meter-sim's last report.
 */
export async function runPhase({ otaUrl, apiKey, id, phase, statesDir, limit, flags = [] }) {
  // Admitted executions stay QUEUED until their meter's next check-in hands it the directive.
  for (let waited = 0; ; waited += 250) {
    const members = await api(otaUrl, apiKey, 'GET', `/v1/campaigns/${id}/devices?phase=${phase}&limit=1000`);
    if (members.items.every((member) => member.admittedAt !== null)) break;
    if (waited >= 30_000) throw new DemoError(`waited 30 s for phase ${phase}'s admissions`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  // A meter learns of its directive at its next check-in; one that checked in a moment too early is idle
  // for that run, so the fleet runs again (a few times at most) while the phase has unfinished meters.
  for (let run = 1; ; run += 1) {
    const fleet = JSON.parse(
      runCli('meter-sim', [
        'fleet',
        'update',
        '--state',
        statesDir,
        '--limit',
        String(limit),
        '--until-idle',
        '--ota-poll-seconds',
        '1',
        ...flags,
        '--json',
      ]),
    );
    const view = await api(otaUrl, apiKey, 'GET', `/v1/campaigns/${id}`);
    const open = view.phases[phase - 1];
    say(
      `meter-sim: ${fleet.meters} meters checked in for ${(fleet.elapsedMs / 1000).toFixed(1)} s; ${open.name} ${countsText(open)}`,
    );
    // A halted campaign's queued executions wait (no directive after a halt; a resume may let them out).
    const waiting = view.state === 'HALTED' ? (open.counts.QUEUED ?? 0) : 0;
    if (sum(open.counts, UNFINISHED) === waiting) return fleet;
    if (run === 5)
      throw new DemoError(`phase ${phase} still has unfinished meters: ${JSON.stringify(open.counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export const countsText = (phase) =>
  Object.entries(phase.counts)
    .map(([state, n]) => `${n} ${state}`)
    .join(', ');

export async function waitForCampaign(otaUrl, apiKey, id, done, what) {
  for (let waited = 0; ; waited += 250) {
    const view = await api(otaUrl, apiKey, 'GET', `/v1/campaigns/${id}`);
    if (done(view)) return view;
    if (waited >= 30_000)
      throw new DemoError(`waited 30 s for ${what}: ${view.state} ${JSON.stringify(view.counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function compliance(otaUrl, apiKey) {
  const answer = await api(otaUrl, apiKey, 'GET', `/v1/compliance?classId=${CLASS_ID}`);
  return answer.classes[0] ?? { total: 0, onLatest: 0, updateInProgress: 0, newUpdateAvailable: 0 };
}
