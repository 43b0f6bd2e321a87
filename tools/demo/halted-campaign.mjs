// A bad release stops itself: the utility signs 2.2.0 offline (sequence 3), and beside it the good
// release 2.1.0 re-issued under sequence 4, the revert the campaign names in advance (a meter never
// goes back to a lower sequence, so the way back is forward). A campaign over the first meters (a
// canary, then the rest) with an abort rule and revertOnHalt is approved by the admin (never its
// creator) and started. The image never confirms its boot on half the meters (meter-sim's
// --ota-boot-fail-rate): they roll back, the abort rule crosses, and the distributor halts the campaign
// by itself (haltCode ABORT_RULE): no directive after it (the canary's meters not yet notified stay
// queued, the rest is never admitted), and a revert campaign for the meters that took the bad image
// waits for approval. The demo reads `halted` and `revert-created` from raw Kafka (ota.campaigns.v2),
// the admin approves the revert, and it runs to completion on those meters. It prints both campaigns'
// counters per phase and what the canary's meters run at the end.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readTenantTopic, topicEnds } from './authorised-consumer.mjs';
import { FAILURES, runPhase, waitForCampaign } from './campaign.mjs';
import { releaseManifest, signAndSubmit, uploadImage } from './firmware.mjs';
import { DemoError, api, say } from './run.mjs';

const KIB = 1024;
const CAMPAIGNS_TOPIC = 'ota.campaigns.v2';
/** The bad release's targets: its canary meets the bad image; the rest must never see it. */
const BAD_METERS = 30;
const BAD_CANARY = 20;
/** The share of meters on which 2.2.0 never confirms its boot (they roll back to the slot they ran). */
// 0.4: all of the first ten fail (no meter to revert) once in ~10,000 runs, none of the twenty once in
// ~27,000 (no halt); at 0.5 the first was one in ~1,000.
const BOOT_FAIL_RATE = 0.4;
const BAD_VERSION = '2.2.0';
/** The distributor creates and submits a revert campaign itself (campaign-status-feed.ts). */
const REVERT_ACTOR = 'ota-distributor';

export async function haltedCampaign({
  otaUrl,
  apiKey,
  engineer,
  kafka,
  tenantId,
  dir,
  authority,
  statesDir,
  meterIds,
  good,
}) {
  const started = performance.now();
  if (meterIds.length < BAD_METERS)
    throw new DemoError(`the halted campaign needs ${BAD_METERS} meters or more (DEMO_METERS)`);
  // meter-sim's fleet is in endpoint-name order: --limit takes its first meters.
  const targets = [...meterIds].sort().slice(0, BAD_METERS);
  const canary = targets.slice(0, BAD_CANARY);
  const work = (name) => {
    const path = join(dir, name);
    mkdirSync(path, { recursive: true, mode: 0o700 });
    return path;
  };

  const image = randomBytes(128 * KIB);
  say(`utility: uploading app image ${BAD_VERSION} (${image.length / KIB} KiB), the bad build`);
  const app = await uploadImage(otaUrl, engineer, 'app', image);
  const bad = await signAndSubmit({
    otaUrl,
    apiKey: engineer,
    work: work('bad-release'),
    authority,
    manifest: releaseManifest({ sequenceNumber: good.sequenceNumber + 1, version: BAD_VERSION, app }),
  });
  say(
    `ota-distributor: manifest accepted (${BAD_VERSION}, sequence ${bad.sequenceNumber}, ${bad.manifestId})`,
  );
  // The way back is forward: the good image under a higher sequence, signed before anything goes wrong.
  const revert = await signAndSubmit({
    otaUrl,
    apiKey: engineer,
    work: work('revert-release'),
    authority,
    manifest: releaseManifest({
      sequenceNumber: bad.sequenceNumber + 1,
      version: good.version,
      app: good.app,
    }),
  });
  say(
    `ota-distributor: manifest accepted (${good.version} re-issued, sequence ${revert.sequenceNumber}, ${revert.manifestId}): the revert`,
  );

  const since = await topicEnds(kafka, CAMPAIGNS_TOPIC);
  const created = await api(otaUrl, engineer, 'POST', '/v1/campaigns', {
    json: {
      name: `em300 ${BAD_VERSION}`,
      manifestId: bad.manifestId,
      target: { deviceIds: targets },
      phases: [
        { name: 'canary', size: { deviceIds: canary }, successThresholdPercent: 95, minSoakMinutes: 60 },
        { name: 'rest', size: { percent: 100 }, successThresholdPercent: 95, minSoakMinutes: 0 },
      ],
      rollout: { maxPerMinute: 120, perGatewayConcurrency: 100 },
      // Halt once a tenth of at least ten meters that ran a phase failed or rolled back.
      abort: [{ scope: 'phase', failureTypes: FAILURES, thresholdPercent: 10, minExecuted: 10 }],
      retry: { max: 0 },
      revertOnHalt: { manifestId: revert.manifestId },
    },
  });
  const id = created.campaignId;
  await api(otaUrl, engineer, 'POST', `/v1/campaigns/${id}/submit`);
  const approved = await api(otaUrl, apiKey, 'POST', `/v1/campaigns/${id}/approve`);
  await api(otaUrl, engineer, 'POST', `/v1/campaigns/${id}/start`);
  say(
    `utility: campaign ${id} (${BAD_VERSION} over ${targets.length} meters: canary ${canary.length}, then the rest; ` +
      `halt at 10 % failed or rolled back of at least 10 executed; revertOnHalt sequence ${revert.sequenceNumber}) ` +
      `submitted by ${approved.submittedBy}, approved by ${approved.decidedBy} (the admin), started`,
  );

  // The canary's meters check in one after another, as meters spread over a poll interval do: the halt
  // falls between two check-ins, and no meter after it gets a directive.
  say(
    `meter-sim: the canary's meters take ${BAD_VERSION}; on ${BOOT_FAIL_RATE * 100} % of them it never confirms its boot (--ota-boot-fail-rate ${BOOT_FAIL_RATE})`,
  );
  await runPhase({
    otaUrl,
    apiKey: engineer,
    id,
    phase: 1,
    statesDir,
    limit: canary.length,
    flags: ['--concurrency', '1', '--ota-boot-fail-rate', String(BOOT_FAIL_RATE)],
  });
  const halted = await api(otaUrl, engineer, 'GET', `/v1/campaigns/${id}`);
  if (halted.state !== 'HALTED' || halted.haltCode !== 'ABORT_RULE' || !halted.haltReason)
    throw new DemoError(
      `expected the campaign HALTED by its abort rule (ABORT_RULE), it is ${halted.state} ` +
        `(haltCode ${halted.haltCode}) ${JSON.stringify(halted.counts)}; the boot failures are random: run again`,
    );

  // What the distributor published: exactly one `halted` (no actor: nobody asked for it) and the revert.
  const records = await readTenantTopic({
    connection: kafka,
    topic: CAMPAIGNS_TOPIC,
    tenantId,
    since,
    enough: (read) => read.some((r) => isEvent(r, id, 'revert-created')),
  });
  const events = records.map((r) => JSON.parse(r.value.toString('utf8'))).filter((e) => e.campaignId === id);
  const haltedEvents = events.filter((e) => e.type === 'halted');
  const revertCreated = events.find((e) => e.type === 'revert-created');
  if (haltedEvents.length !== 1 || (haltedEvents[0].actor ?? null) !== null)
    throw new DemoError(
      `expected one halted event by the distributor itself on ${CAMPAIGNS_TOPIC}, read ${JSON.stringify(haltedEvents)}`,
    );
  if (!revertCreated)
    throw new DemoError(
      `no revert-created event for campaign ${id} on ${CAMPAIGNS_TOPIC}: ${halted.counts.SUCCEEDED ?? 0} meters ` +
        `took ${BAD_VERSION} before the halt (none to revert when the boot failures, random, hit all the first ten: run again)`,
    );
  const { reason } = haltedEvents[0];
  say(
    `ota-distributor: campaign HALTED by itself (haltCode ${halted.haltCode}): rule ${reason.rule} (${reason.scope}) ` +
      `crossed at ${reason.failed} failed of ${reason.executed} executed in phase ${haltedEvents[0].phase}; ` +
      `${CAMPAIGNS_TOPIC}: halted, revert-created -> ${revertCreated.revertCampaignId}`,
  );

  const revertId = revertCreated.revertCampaignId;
  // The halt and its revert commit together: the halted campaign's view names the same revert.
  if (halted.revertCampaignId !== revertId)
    throw new DemoError(
      `the halted campaign's view names revert ${halted.revertCampaignId}, the event ${revertId}`,
    );
  const pending = await api(otaUrl, engineer, 'GET', `/v1/campaigns/${revertId}`);
  if (
    pending.sequenceNumber <= halted.sequenceNumber ||
    pending.manifestId !== revert.manifestId ||
    pending.createdBy !== REVERT_ACTOR ||
    pending.state !== 'PENDING_APPROVAL'
  )
    throw new DemoError(
      `expected the revert campaign PENDING_APPROVAL, by ${REVERT_ACTOR}, with manifest ${revert.manifestId} above ` +
        `sequence ${halted.sequenceNumber}; it is ${pending.state} by ${pending.createdBy}, ${pending.manifestId} sequence ${pending.sequenceNumber}`,
    );
  // Its meters are planned at start; until then they are the definition's list.
  const revertTargets = pending.definition.target.deviceIds.length;
  say(
    `ota-distributor: revert campaign ${revertId} (${pending.state}, created by ${pending.createdBy}): ` +
      `${good.version} at sequence ${pending.sequenceNumber} > ${halted.sequenceNumber}, for the ${revertTargets} meters that run ${BAD_VERSION}`,
  );
  const revertApproved = await api(otaUrl, apiKey, 'POST', `/v1/campaigns/${revertId}/approve`);
  await api(otaUrl, engineer, 'POST', `/v1/campaigns/${revertId}/start`);
  say(`utility: revert approved by ${revertApproved.decidedBy} (the admin) and started`);
  const fleet = await runPhase({
    otaUrl,
    apiKey: engineer,
    id: revertId,
    phase: 1,
    statesDir,
    limit: canary.length,
  });
  const reverted = await waitForCampaign(
    otaUrl,
    engineer,
    revertId,
    (c) => c.state !== 'RUNNING',
    'the revert campaign to complete',
  );
  const haltedEnd = await api(otaUrl, engineer, 'GET', `/v1/campaigns/${id}`);

  console.log('');
  console.log(
    `${'campaign'.padEnd(14)}${'seq'.padEnd(5)}${'phase'.padEnd(8)}${'meters'.padEnd(8)}${'admitted'.padEnd(10)}` +
      `${'succeeded'.padEnd(11)}${'rolled back'.padEnd(13)}${'failed'.padEnd(8)}${'cancelled'.padEnd(11)}${'queued'.padEnd(8)}state`,
  );
  const admittedIn = new Map();
  for (const [label, view] of [
    [BAD_VERSION, haltedEnd],
    ['revert', reverted],
  ]) {
    const members = await api(otaUrl, engineer, 'GET', `/v1/campaigns/${view.campaignId}/devices?limit=1000`);
    for (const phase of view.phases) {
      const admitted = members.items.filter((d) => d.phase === phase.phase && d.admittedAt !== null).length;
      admittedIn.set(`${view.campaignId}/${phase.phase}`, admitted);
      const c = phase.counts;
      console.log(
        `${label.padEnd(14)}${String(view.sequenceNumber).padEnd(5)}${phase.name.padEnd(8)}${String(phase.targets).padEnd(8)}` +
          `${String(admitted).padEnd(10)}${String(c.SUCCEEDED ?? 0).padEnd(11)}${String(c.ROLLED_BACK ?? 0).padEnd(13)}` +
          `${String((c.FAILED ?? 0) + (c.REJECTED ?? 0) + (c.TIMED_OUT ?? 0)).padEnd(8)}${String(c.CANCELLED ?? 0).padEnd(11)}` +
          `${String(c.QUEUED ?? 0).padEnd(8)}` +
          `${phase.state} (campaign ${view.state})`,
      );
    }
  }
  const codes = new Map();
  for (const d of (await api(otaUrl, engineer, 'GET', `/v1/campaigns/${id}/devices?limit=1000`)).items)
    if (FAILURES.includes(d.state)) {
      const key = `${d.state} ${d.failureCode ?? ''}`;
      codes.set(key, (codes.get(key) ?? 0) + 1);
    }
  for (const [key, n] of codes) console.log(`  ${BAD_VERSION}: ${n} ${key}`);
  // Where the canary's meters ended, as they report it themselves (meter-sim's last run).
  const running = new Map();
  for (const meter of fleet.devices) {
    const key =
      meter.installedVersion === undefined
        ? 'factory firmware'
        : `${meter.installedVersion} (sequence ${meter.installedSequence})`;
    running.set(key, (running.get(key) ?? 0) + 1);
  }
  console.log(
    `  the canary's ${fleet.devices.length} meters now run: ${[...running].map(([key, n]) => `${n} ${key}`).join(', ')}`,
  );
  console.log('');

  say(
    `ota-distributor: ${BAD_VERSION} ${haltedEnd.state} (${haltedEnd.haltCode}), revert ${reverted.state} ` +
      `(${reverted.counts.SUCCEEDED ?? 0} of ${revertTargets} back on ${good.version}) ` +
      `(the halted campaign step took ${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  if (reverted.state !== 'COMPLETED' || (reverted.counts.SUCCEEDED ?? 0) !== revertTargets)
    throw new DemoError(
      `expected the revert COMPLETED on its ${revertTargets} meters, it is ${reverted.state} ${JSON.stringify(reverted.counts)}`,
    );
  const stillBad = fleet.devices.filter((meter) => meter.installedVersion === BAD_VERSION);
  if (stillBad.length > 0)
    throw new DemoError(
      `${stillBad.length} meter(s) still run ${BAD_VERSION} after the revert: ${stillBad.map((m) => m.deviceId).join(', ')}`,
    );
  // No new exposure after the halt: the rest of the bad campaign was never admitted.
  const restAdmitted = admittedIn.get(`${id}/2`);
  if (restAdmitted !== 0)
    throw new DemoError(`expected none of the rest admitted after the halt, ${restAdmitted} were`);
}

const isEvent = (record, campaignId, type) => {
  const event = JSON.parse(record.value.toString('utf8'));
  return event.campaignId === campaignId && event.type === type;
};
