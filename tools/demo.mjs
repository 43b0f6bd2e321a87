#!/usr/bin/env node
// The quick start's main job, the meter lifecycle on a local stack: a factory mints and verifies a
// batch and simulated meters lock their factory path; the five services start; the utility trusts
// the manufacturer CA and enrolls the batch; the registry's counts; a clean stop.
// Later capabilities (bootstrap, readings, firmware, privacy) continue the story here.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { mintBatch } from './demo/factory-line.mjs';
import { say } from './demo/run.mjs';
import { onboardBatch } from './demo/utility-onboarding.mjs';
import { workspaceRoot } from './swc-options.mjs';

const die = (line) => {
  console.error(`demo: ${line}`);
  process.exit(1);
};

say('starting the local stack (Kafka, S3Proxy, PostgreSQL, Redis) where it is not running');
const up = spawnSync('bash', [join(workspaceRoot, 'deploy/local/stack.sh'), 'up'], { stdio: 'inherit' });
if (up.status !== 0) die('the local stack did not start; the message above says why');

say('building the services');
const build = spawnSync(process.execPath, [join(workspaceRoot, 'tools/build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) die('the build failed');

const count = Number(process.env.DEMO_METERS ?? 1000);
if (!Number.isInteger(count) || count < 1) die('DEMO_METERS must be a positive whole number');
// Every run is its own batch and tenant: endpoint names are unique across tenants.
const runId = Date.now().toString(36).toUpperCase();
const demoDir = join(workspaceRoot, '.local-stack/demo', runId);
let factory;
try {
  factory = mintBatch({ dir: demoDir, count, prefix: `DM${runId}` });
} catch (error) {
  die(error.message);
}

const require = createRequire(import.meta.url);
const { SERVICES, PortInUseError, localStack, parseEnvExports, startServiceProcess } = require(
  join(workspaceRoot, 'dist/libs/testing/src/index.js'),
);

const env = parseEnvExports(await localStack('env'));
// enrollment seals meters' PSKs under this key; local only, owner-readable, never committed.
const kekFile = join(workspaceRoot, '.local-stack/enrollment-psk-kek');
if (!existsSync(kekFile)) {
  mkdirSync(join(workspaceRoot, '.local-stack'), { recursive: true });
  writeFileSync(kekFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
}
env.ENROLLMENT_PSK_KEK = process.env.ENROLLMENT_PSK_KEK ?? readFileSync(kekFile, 'utf8').trim();
const logDir = join(workspaceRoot, '.local-stack/logs');
const running = [];
const stopAll = () => Promise.all(running.map((service) => service.stop()));

try {
  for (const { name, port } of SERVICES) {
    running.push(await startServiceProcess({ name, port, env, logFile: join(logDir, `${name}.log`) }));
  }
  say('waiting for the services to be ready');
  const reports = await Promise.all(
    running.map(async (service) => [service, await service.waitReady(90_000)]),
  );
  console.log('');
  console.log(`${'service'.padEnd(18)}${'url'.padEnd(24)}${'ready'.padEnd(8)}stores`);
  for (const [service, report] of reports) {
    const stores = report.checks
      .map((c) => `${c.name} ${c.ok ? 'ok' : 'DOWN'} (${c.latencyMs} ms)`)
      .join(', ');
    console.log(`${service.name.padEnd(18)}${service.url.padEnd(24)}${report.status.padEnd(8)}${stores}`);
  }
  console.log('');

  const enrollment = running.find((service) => service.name === 'enrollment');
  const { byState } = await onboardBatch({
    enrollmentUrl: enrollment.url,
    stackEnv: env,
    tenantId: `demo-${runId.toLowerCase()}`,
    factory,
  });
  console.log('');
  console.log('registry        meters');
  for (const [state, n] of Object.entries(byState)) console.log(`${state.padEnd(16)}${n}`);
  console.log('');
  if ((byState.ENROLLED ?? 0) !== count)
    throw new Error(`expected ${count} meters ENROLLED, found ${JSON.stringify(byState)}`);
} catch (error) {
  await stopAll();
  if (error instanceof PortInUseError) die(error.message);
  die(`${error.message} (service logs: ${logDir})`);
}

say('stopping the services (SIGTERM: drain, flush, exit 0)');
const exits = await Promise.all(running.map(async (service) => [service.name, await service.stop()]));
const failed = exits.filter(([, exit]) => exit.code !== 0);
for (const [name, exit] of exits) say(`${name} exited with ${exit.code ?? exit.signal}`);
if (failed.length > 0) die(`${failed.length} service(s) did not stop cleanly (logs: ${logDir})`);
say('done; the local stack is still running (npm run stack:down stops it)');
