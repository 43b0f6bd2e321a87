#!/usr/bin/env node
// Meters onboarded per second: a meter-sim fleet bootstrapping against the real enrollment and
// bootstrap services (a new mutual-TLS connection per meter, a key and CSR made on the meter, a
// certificate issued, events to Kafka), beside a bare mutual-TLS handshake loop against a trivial
// Node HTTPS server run in the same bench. Both run with the same concurrency, client and server in
// separate processes. Needs the local stack and a build: node tools/build.mjs.
//   node_modules/.bin/node test/bench/onboarding/onboarding.bench.mjs [--meters 2000] [--concurrency 64] [--runs 3]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuBudget } from '../cpu-budget.mjs';

const root = join(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);
const testing = require(join(root, 'dist/libs/testing/src/index.js'));
const pki = require(join(root, 'dist/libs/pki/src/index.js'));

const { values } = parseArgs({
  options: {
    meters: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '64' },
    runs: { type: 'string', default: '3' },
  },
});
const meters = Number(values.meters);
const concurrency = Number(values.concurrency);
const runs = Number(values.runs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

const up = spawnSync('bash', [join(root, 'deploy/local/stack.sh'), 'up'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (up.status !== 0) process.exit(1);
const stack = testing.stackEnvFrom(testing.parseEnvExports(await testing.localStack('env')));
const work = mkdtempSync(join(tmpdir(), 'meterkeep-bench-onboarding-'));

// The platform: enrollment and bootstrap as processes, rate limits out of the way (one source address).
const enrollmentPort = await testing.freePort();
const tlsPort = await testing.freePort();
// Bootstrap asks enrollment's internal listener (mutual TLS) about PSK proofs.
const internal = await testing.internalWiring();
const env = testing.platformEnv(stack, {
  BOOTSTRAP_TLS_PORT: String(tlsPort),
  BOOTSTRAP_PUBLIC_URI: `https://localhost:${tlsPort}`,
  BOOTSTRAP_RATE_LIMIT_PER_SOURCE: '1000000',
  BOOTSTRAP_RATE_LIMIT_PER_METER: '1000',
  LOG_LEVEL: 'warn',
});
const enrollment = await testing.startServiceProcess({
  name: 'enrollment',
  port: enrollmentPort,
  env,
  internal,
  logFile: join(work, 'enrollment.log'),
});
const bootstrap = await testing.startServiceProcess({
  name: 'bootstrap',
  port: await testing.freePort(),
  env,
  internal,
  logFile: join(work, 'bootstrap.log'),
});
const children = [];
try {
  await Promise.all([enrollment.waitReady(), bootstrap.waitReady()]);
  const serverCaPem = await (await fetch(`${bootstrap.url}/bs/v1/server-ca`)).text();
  const runId = Date.now().toString(36).toUpperCase();
  const key = (
    await testing.runBuiltCli('enrollment', ['tenant', 'create', `bench-${runId.toLowerCase()}`], env)
  ).trim();
  const api = testing.operatorApi(enrollment.url, key);
  console.log(`minting and enrolling ${meters} meters ...`);
  const batch = await testing.mintProvisionedBatch({
    dir: join(work, 'batch'),
    count: meters,
    prefix: `BN${runId}`,
    bootstrapUri: `https://localhost:${tlsPort}`,
    bootstrapTrustAnchorPem: serverCaPem,
  });
  await testing.enrollBatch(api, batch, { trustCa: true });

  // Baseline: a trivial HTTPS server asking for a client certificate, in its own process.
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const ca = pki.createRootCa({
    subject: { commonName: 'bench CA' },
    validity: { notBefore: now, notAfter: new Date(now.getTime() + 864e5) },
  });
  const serverKeys = pki.generateKeyPair();
  const serverCert = pki.issueCertificate({
    issuer: ca,
    subjectPublicKey: serverKeys.publicKey,
    subject: { commonName: 'localhost' },
    profile: 'server',
    sans: { dns: ['localhost'] },
    notBefore: now,
    notAfter: new Date(now.getTime() + 864e5),
  });
  const baselineServer = spawn(
    process.execPath,
    [
      '-e',
      `
    const https = require('node:https');
    const [key, cert, ca] = JSON.parse(process.argv[1]);
    https.createServer({ key, cert, ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      req.resume(); req.on('end', () => res.end('{}'));
    }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });
  `,
      JSON.stringify([
        pki.exportPrivateKey(serverKeys.privateKey),
        serverCert.pem,
        readFileSync(join(batch.caDir, 'root.pem'), 'utf8'),
      ]),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(baselineServer);
  const baselinePort = Number(
    await new Promise((resolve) => baselineServer.stdout.once('data', (d) => resolve(String(d).trim()))),
  );
  // One meter's factory credential for the baseline client: the same key type and chain as the fleet's.
  const bundle = JSON.parse(
    readFileSync(join(batch.batchDir, 'bundles/chunk-000000.jsonl'), 'utf8').split('\n')[0],
  );
  const clientTls = {
    key: bundle.credential.privateKeyPem,
    cert: bundle.credential.certificatePem + bundle.credential.chainPem[0],
    ca: serverCert.pem + ca.certificate.pem,
  };
  const handshakeOnce = () =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: baselinePort,
          method: 'POST',
          path: '/',
          agent: false,
          ...clientTls,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(performance.now() - t0));
        },
      );
      req.on('error', reject);
      req.end('{"csrPem":"x"}');
    });
  const bareRun = async () => {
    const latencies = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next++ < meters) latencies.push(await handshakeOnce());
      }),
    );
    latencies.sort((a, b) => a - b);
    return {
      perSecond: (meters / (performance.now() - t0)) * 1000,
      p50: pct(latencies, 50),
      p99: pct(latencies, 99),
    };
  };

  const rows = [];
  for (let run = 1; run <= runs; run++) {
    const names = { [baselineServer.pid]: 'bare mTLS server' };
    let budget = cpuBudget(names);
    const bare = await bareRun();
    console.log(`run ${run}: bare mutual-TLS handshakes`);
    budget.stop(meters, 'handshake');
    budget = cpuBudget(names);
    const fleet = JSON.parse(
      await testing.runBuiltCli('meter-sim', [
        'fleet',
        'bootstrap',
        '--state',
        batch.statesDir,
        '--concurrency',
        String(concurrency),
        '--json',
      ]),
    );
    console.log(`run ${run}: fleet bootstrap`);
    budget.stop(meters, 'onboarding');
    if (fleet.failed > 0)
      throw new Error(
        `${fleet.failed} meters failed to bootstrap: ${JSON.stringify(fleet.failures.slice(0, 3))}`,
      );
    rows.push({ run, bare, fleet });
    console.log(
      `run ${run}: bare mTLS ${Math.round(bare.perSecond)}/s (p50 ${bare.p50.toFixed(1)} ms, p99 ${bare.p99.toFixed(1)} ms); onboarding ${fleet.perSecond}/s (p50 ${fleet.p50Ms} ms, p99 ${fleet.p99Ms} ms)`,
    );
  }
  const bareMedian = median(rows.map((r) => r.bare.perSecond));
  const fleetMedian = median(rows.map((r) => r.fleet.perSecond));
  console.log(
    `medians over ${runs} runs of ${meters} meters, concurrency ${concurrency}: p50 ${median(rows.map((r) => r.fleet.p50Ms))} ms, p99 ${median(rows.map((r) => r.fleet.p99Ms))} ms`,
  );
  console.log(
    `onboarding: ${Math.round(fleetMedian)} meters/s; ratio ${(fleetMedian / bareMedian).toFixed(2)} vs bare mTLS handshake`,
  );
} finally {
  for (const child of children) child.kill();
  await Promise.all([enrollment.stop(), bootstrap.stop()]);
  rmSync(work, { recursive: true, force: true });
}
