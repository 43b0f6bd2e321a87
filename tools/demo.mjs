#!/usr/bin/env node
// The quick start's main job, the meter lifecycle on a local stack: the five services start; a
// factory mints and verifies a batch for the utility's bootstrap server and simulated meters lock
// their factory path; the utility trusts the manufacturer CA and enrolls the batch; the fleet
// bootstraps over mutual TLS; the registry shows the meters ACTIVE; each meter gets an occupancy with
// a data key of its own; four households give an energy coach half-hourly, daily or monthly access,
// one withdraws; the fleet sends a day of readings, sealed at ingest; an authorised consumer opens a
// sample from Kafka with the keys; the release gate lets each household's readings out at its
// granularity and no finer (read from raw Kafka); a clean stop.
// The utility then signs a firmware image offline and deploys it to ten meters, which verify, install,
// reboot and confirm with signed receipts; one meter handed a tampered image refuses it. The next
// release goes out as a campaign over sixty meters: a named canary, then the rest, approved by a second
// person, admitted at the rollout rate; the tampered meter fails under the halt rule; compliance before
// and after. Then a bad release (2.2.0, boot failures injected) halts its campaign by itself, and the
// revert campaign the distributor creates (2.1.0 re-issued under a higher sequence) runs to completion.
// Then the ends: a household that left without notice is moved out back-dated, its readings since
// re-sealed under the next occupant's key and kept out of its releases; it asks for an export of its
// data, downloaded and checked against its signed manifest; another subject is erased, the certificate
// checked by the verifier and a plaintext canary found nowhere; a meter is decommissioned and its
// chain of custody verified.
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { mintBatch } from './demo/factory-line.mjs';
import { firmwareCampaign } from './demo/campaign.mjs';
import { haltedCampaign } from './demo/halted-campaign.mjs';
import { firmwareUpdate, makeUpdateAuthority } from './demo/firmware.mjs';
import { say } from './demo/run.mjs';
import { decryptSample, readingsTopicEnds } from './demo/authorised-consumer.mjs';
import { recordConsents, releasedTopicEnds, showReleases } from './demo/consents.mjs';
import { decommissionMeter } from './demo/decommission.mjs';
import { canaryPlaces, eraseSubject, subjectExport } from './demo/subject-rights.mjs';
import { moveOutWithoutNotice } from './demo/tenancy.mjs';
import { openOccupancies, reportDay, startOfYesterday, waitForTls } from './demo/telemetry.mjs';
import { bootstrapFleet, listDevices, onboardBatch } from './demo/utility-onboarding.mjs';
import { requireNode } from './require-node.mjs';
import { workspaceRoot } from './swc-options.mjs';

requireNode('demo');

const die = (line) => {
  console.error(`demo: ${line}`);
  process.exit(1);
};

say('building the services');
const build = spawnSync(process.execPath, [join(workspaceRoot, 'tools/build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) die('the build failed');

const require = createRequire(import.meta.url);
const { DEFAULT_PORTS, INTERNAL_PORTS, kafkaSecurity } = require(
  join(workspaceRoot, 'dist/libs/config/src/index.js'),
);
const {
  SERVICES,
  PortInUseError,
  StackError,
  internalWiringAt,
  localSecrets,
  portIsFree,
  serviceIdentity,
  stackSettings,
  startServiceProcess,
} = require(join(workspaceRoot, 'dist/libs/local-stack/src/index.js'));
const { openLocalStack } = require(join(workspaceRoot, 'dist/libs/local-stack-cli/src/index.js'));

say('starting the local stack (Kafka, S3Proxy, PostgreSQL, Redis) where it is not running');
const stack = openLocalStack({ say: (line) => say(`stack: ${line}`) });
try {
  await stack.up();
} catch (error) {
  if (!(error instanceof StackError)) throw error;
  die(`the local stack did not start: ${error.message}`);
}
process.stdout.write(stack.endpoints());

const count = Number(process.env.DEMO_METERS ?? 1000);
if (!Number.isInteger(count) || count < 1) die('DEMO_METERS must be a positive whole number');
// Opt-in: the services stay up this long after the lifecycle, so a scraper (tools/dashboard-snapshot)
// sees the last counters and the quiet that follows before they stop.
const lingerSeconds = Number(process.env.DEMO_LINGER_SECONDS ?? 0);
if (!Number.isInteger(lingerSeconds) || lingerSeconds < 0 || lingerSeconds > 3600)
  die('DEMO_LINGER_SECONDS must be a whole number of seconds from 0 to 3600');
// Every run is its own batch and tenant: endpoint names are unique across tenants.
const runId = Date.now().toString(36).toUpperCase();
const demoDir = join(workspaceRoot, '.local-stack/demo', runId);
const DEVICE_PORT = DEFAULT_PORTS.deviceListeners.bootstrap;
const TELEMETRY_PORT = DEFAULT_PORTS.deviceListeners['telemetry-ingest'];
const tenantId = `demo-${runId.toLowerCase()}`;

const env = { ...stack.env() };
// The demo's own reader connects as the stack's admin; each service as itself (startServiceProcess).
const kafka = { brokers: env.KAFKA_BROKERS.split(','), ...kafkaSecurity(stack.env('admin')) };
// The services' key-encryption keys: made once per local stack, kept beside its data. Each service's
// identity between services comes from the local platform CA (.local-stack/pki), minted on first use.
Object.assign(env, localSecrets());
// Meters that arrive before their enrollment reached bootstrap come back this soon (seconds).
env.BOOTSTRAP_NOT_KNOWN_RETRY_AFTER_S ??= '2';
// The whole simulated fleet comes from one address, as meters behind a gateway or NAT would.
env.BOOTSTRAP_RATE_LIMIT_PER_SOURCE ??= '100000';
// How the services find each other (their internal listeners at the default ports, mutual TLS) and
// where bootstrap sends meters' readings.
const internal = internalWiringAt(INTERNAL_PORTS);
// The demo's decrypting consumer may read this run's tenant's data keys, and no other's.
const CONSUMER = 'authorised-consumer';
env.PRIVACY_DATA_KEY_GRANTS ??= JSON.stringify({ [CONSUMER]: [tenantId] });
env.TELEMETRY_TLS_PORT ??= String(TELEMETRY_PORT);
env.BOOTSTRAP_TELEMETRY_URI ??= `https://localhost:${env.TELEMETRY_TLS_PORT}`;
// The release gate looks for closed windows every 5 s instead of every minute, so the demo need not wait.
env.PRIVACY_RELEASE_INTERVAL_MS ??= '5000';
// Windows wait 60 s for late readings instead of 15 min: with the default, a demo run in the first quarter
// hour after midnight waited in vain for yesterday's last half-hour and its day (a CI rehearsal at 00:08).
env.PRIVACY_RELEASE_GRACE_S ??= '60';
// The campaign ticker admits meters and advances phases every 250 ms instead of every second.
env.OTA_CAMPAIGN_TICK_MS ??= '250';
// The signing keys of erasure certificates and export manifests (privacy) and of decommission records
// (enrollment): made for this run, as an HSM would hold them; the auditor gets the public halves.
const signingKey = (name) => {
  const file = join(demoDir, `${name}.pem`);
  mkdirSync(demoDir, { recursive: true, mode: 0o700 });
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  return file;
};
env.PRIVACY_CERTIFICATE_KEY_FILE ??= signingKey('certificate-key');
env.ENROLLMENT_DECOMMISSION_KEY_FILE ??= signingKey('decommission-key');
const publicHalf = (privateFile, name) => {
  const file = join(demoDir, `${name}.pub.pem`);
  writeFileSync(
    file,
    createPublicKey(createPrivateKey(readFileSync(privateFile))).export({ type: 'spki', format: 'pem' }),
  );
  return file;
};
const certificatePublicKeyFile = publicHalf(env.PRIVACY_CERTIFICATE_KEY_FILE, 'certificate-key');
const recordPublicKeyFile = publicHalf(env.ENROLLMENT_DECOMMISSION_KEY_FILE, 'decommission-key');
// A missing erasure confirmation or decommission step is asked again after 0.5 s instead of 2 s.
env.PRIVACY_ERASURE_RETRY_MS ??= '500';
env.ENROLLMENT_DECOMMISSION_RETRY_MS ??= '500';
const logDir = join(workspaceRoot, '.local-stack/logs');
const running = [];
const stopAll = () => Promise.all(running.map((service) => service.stop()));

try {
  if (!(await portIsFree(DEVICE_PORT))) throw new PortInUseError(DEVICE_PORT, "bootstrap's device listener");
  const telemetryPort = Number(env.TELEMETRY_TLS_PORT);
  if (!(await portIsFree(telemetryPort)))
    throw new PortInUseError(telemetryPort, "telemetry-ingest's device listener");
  for (const [name, port] of Object.entries(internal.ports))
    if (!(await portIsFree(port))) throw new PortInUseError(port, `${name}'s internal listener`);
  // Each service's Prometheus endpoint, from 9464 (the OpenTelemetry exporter's port) up; one taken
  // by something else is skipped, not fatal.
  const metricsUrls = new Map();
  for (const [i, { name, port }] of SERVICES.entries()) {
    const metricsPort = 9464 + i;
    const metricsEnv = (await portIsFree(metricsPort))
      ? { METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1' }
      : {};
    if (metricsEnv.METRICS_PORT) metricsUrls.set(name, `http://127.0.0.1:${metricsPort}/metrics`);
    running.push(
      await startServiceProcess({
        name,
        port,
        env: { ...env, ...metricsEnv },
        internal,
        logFile: join(logDir, `${name}.log`),
      }),
    );
  }
  say('waiting for the services to be ready');
  const reports = await Promise.all(
    running.map(async (service) => [service, await service.waitReady(90_000)]),
  );
  console.log('');
  console.log(`${'service'.padEnd(18)}${'url'.padEnd(24)}${'ready'.padEnd(8)}${'metrics'.padEnd(38)}stores`);
  for (const [service, report] of reports) {
    const stores = report.checks
      .map((c) => `${c.name} ${c.ok ? 'ok' : 'DOWN'} (${c.latencyMs} ms)`)
      .join(', ');
    const metrics = metricsUrls.get(service.name) ?? '-';
    console.log(
      `${service.name.padEnd(18)}${service.url.padEnd(24)}${report.status.padEnd(8)}${metrics.padEnd(38)}${stores}`,
    );
  }
  console.log('');
  say(
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT
      ? `traces and metrics also go by OTLP to ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT}`
      : 'traces: none exported; set OTEL_EXPORTER_OTLP_ENDPOINT (an OTLP/HTTP collector, e.g. http://localhost:4318) before npm run demo to see them',
  );
  say(`logs, with each request's trace id: ${logDir}`);

  // The factory mints for this utility's bootstrap server, trusting the CA its TLS certificate chains to.
  const bootstrap = running.find((service) => service.name === 'bootstrap');
  const serverCaPem = await (await fetch(`${bootstrap.url}/bs/v1/server-ca`)).text();
  const bootstrapUri = `https://localhost:${DEVICE_PORT}`;
  // The utility's update authority, made on its offline signing machine; the factory gets the public half.
  const authority = makeUpdateAuthority(demoDir);
  const factory = mintBatch({
    dir: demoDir,
    count,
    prefix: `DM${runId}`,
    bootstrapUri,
    serverCaPem,
    updateAuthorityPublicKey: authority.publicKey,
  });

  const enrollment = running.find((service) => service.name === 'enrollment');
  const { apiKey } = await onboardBatch({
    enrollmentUrl: enrollment.url,
    stackEnv: env,
    tenantId,
    factory,
  });
  const byState = await bootstrapFleet({ enrollment: enrollment.url, factory, count, apiKey });
  console.log('');
  console.log('registry        meters');
  for (const [state, n] of Object.entries(byState)) console.log(`${state.padEnd(16)}${n}`);
  console.log('');
  if ((byState.ACTIVE ?? 0) !== count)
    throw new Error(`expected ${count} meters ACTIVE, found ${JSON.stringify(byState)}`);

  // A household moves in behind each meter, from the start of yesterday: its readings get its own key.
  const privacy = running.find((service) => service.name === 'privacy');
  const meterIds = (await listDevices(enrollment.url, apiKey))
    .filter((device) => device.state === 'ACTIVE')
    .map((device) => device.endpointName);
  const movedIn = startOfYesterday();
  const occupancies = await openOccupancies({ privacyUrl: privacy.url, apiKey, meterIds, from: movedIn });
  // Four of the households tell the utility what an energy coach may have of their readings.
  const releasedSince = await releasedTopicEnds(kafka);
  const households = await recordConsents({ privacyUrl: privacy.url, apiKey, occupancies, from: movedIn });

  // The ingest's device listener opens once bootstrap has issued its server certificate.
  const waited = await waitForTls({
    port: telemetryPort,
    caPem: serverCaPem,
    what: "telemetry-ingest's device listener",
  });
  say(
    `telemetry-ingest: device listener accepts mutual TLS on port ${telemetryPort} (waited ${(waited / 1000).toFixed(1)} s)`,
  );
  const since = await readingsTopicEnds(kafka);
  reportDay({ statesDir: join(factory.batch, '..', 'meters'), count });
  await decryptSample({
    kafka,
    tenantId,
    since,
    privacyUrl: internal.urls.PRIVACY_INTERNAL_URL,
    identity: serviceIdentity(CONSUMER),
    occupancies,
    // Each meter's day goes in one batch, so one record at least per meter.
    sample: Math.min(5, meterIds.length),
  });

  await showReleases({ kafka, tenantId, since: releasedSince, households, from: movedIn });

  // Firmware: signed offline, uploaded, deployed to ten meters; one is handed a tampered image.
  const otaPort = DEFAULT_PORTS.deviceListeners['ota-distributor'];
  await waitForTls({ port: otaPort, caPem: serverCaPem, what: "ota-distributor's device listener" });
  const firmware = {
    otaUrl: running.find((service) => service.name === 'ota-distributor').url,
    apiKey,
    dir: demoDir,
    authority,
    statesDir: join(factory.batch, '..', 'meters'),
    meterIds,
    tampered: 1,
  };
  await firmwareUpdate(firmware);
  // The next release, as a campaign in phases over a slice of the fleet.
  const good = await firmwareCampaign({ ...firmware, enrollmentUrl: enrollment.url });
  // A bad release after it: its campaign halts by itself on boot failures and is reverted.
  await haltedCampaign({ ...firmware, engineer: good.engineer, kafka, tenantId, good });

  // The ends. Household C (monthly consent) left yesterday at noon without notice.
  const endsStarted = performance.now();
  const movedHousehold = households.find((household) => household.name === 'C');
  const tenancy = await moveOutWithoutNotice({
    privacyUrl: privacy.url,
    internalPrivacyUrl: internal.urls.PRIVACY_INTERNAL_URL,
    identity: serviceIdentity(CONSUMER),
    apiKey,
    kafka,
    tenantId,
    readingsSince: since,
    releasedSince,
    household: movedHousehold,
    from: movedIn,
  });
  // Its former occupant asks for everything the utility holds about them.
  const { sealed } = await subjectExport({
    privacyUrl: privacy.url,
    apiKey,
    occupancy: occupancies.get(movedHousehold.meterId),
    certificatePublicKeyFile,
    movedOut: tenancy.movedOut,
  });
  // Meters no consent story touched: the last (sorted) one's occupant is erased, one that took both
  // firmware updates is decommissioned.
  const inStories = new Set(households.map((household) => household.meterId));
  const plain = [...meterIds].sort().filter((meterId) => !inStories.has(meterId));
  if (plain.length < 3) throw new Error('the end-of-life steps need 7 meters or more (DEMO_METERS)');
  const verifierEnv = { ...env, ...stack.env('admin') };
  const erased = occupancies.get(plain.at(-1));
  await eraseSubject({
    privacyUrl: privacy.url,
    apiKey,
    kafka,
    tenantId,
    occupancy: erased,
    from: movedIn,
    telemetryPort,
    caPem: serverCaPem,
    statesDir: join(factory.batch, '..', 'meters'),
    dir: demoDir,
    certificatePublicKeyFile,
    verifierEnv,
    places: canaryPlaces({ settings: stackSettings(), logDir, tenantId, meterId: erased.meterId }),
    // The sealed export archive, stored by the S3 server as it is: its control text.
    s3Control: sealed.subarray(32, 96),
  });
  await decommissionMeter({
    enrollmentUrl: enrollment.url,
    privacyUrl: privacy.url,
    apiKey,
    meterId: plain[1],
    occupancy: occupancies.get(plain[1]),
    dir: demoDir,
    recordPublicKeyFile,
    certificatePublicKeyFile,
    verifierEnv,
  });
  say(`the end-of-life steps took ${((performance.now() - endsStarted) / 1000).toFixed(1)} s`);
  if (lingerSeconds > 0) {
    say(`the services stay up ${lingerSeconds} s more (DEMO_LINGER_SECONDS)`);
    await new Promise((resolve) => setTimeout(resolve, lingerSeconds * 1000));
  }
} catch (error) {
  await stopAll();
  if (error instanceof PortInUseError) die(error.message);
  die(
    `${error.message}${error.cause ? ` (${error.cause.message ?? error.cause})` : ''} (service logs: ${logDir})`,
  );
}

say('stopping the services (SIGTERM: drain, flush, exit 0)');
const exits = await Promise.all(running.map(async (service) => [service.name, await service.stop()]));
const failed = exits.filter(([, exit]) => exit.code !== 0);
for (const [name, exit] of exits) say(`${name} exited with ${exit.code ?? exit.signal}`);
if (failed.length > 0) die(`${failed.length} service(s) did not stop cleanly (logs: ${logDir})`);
say('done; the local stack is still running (npm run stack:down stops it)');
