#!/usr/bin/env node
// Check-ins per second on the OTA distributor's no-change path: meters on keep-alive mutual-TLS
// connections (their own operational certificates) polling GET /ota/v1/check-in with If-None-Match,
// answered 304 after the certificate check, the ACTIVE state and the directive state lookup. Beside it,
// in the same run and from the same load client, a bare keep-alive mutual-TLS Node server that checks
// the client certificate and answers 304. Then presigned download URLs per second for an execution.
// Needs the local stack and a build.
//   node_modules/.bin/node test/bench/ota-checkin/ota-checkin.bench.mjs [--meters 200]
//     [--concurrency 64] [--duration 20] [--runs 3] [--urls-per-meter 5]
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { cpuBudget } from '../cpu-budget.mjs';

const root = join(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);
const testing = require(join(root, 'dist/libs/testing/src/index.js'));
const firmware = require(join(root, 'dist/libs/firmware/src/index.js'));

const { values } = parseArgs({
  options: {
    meters: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '64' },
    duration: { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
    'urls-per-meter': { type: 'string', default: '5' },
  },
});
const meters = Number(values.meters);
const concurrency = Number(values.concurrency);
const durationMs = Number(values.duration) * 1000;
const runs = Number(values.runs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs a helper script of this folder as its own process and parses the one JSON line it prints. */
function runScript(script, args, { firstLine = false } = {}) {
  // Arguments go in a file: a hundred meters' certificates exceed the command line's limit.
  const argsFile = join(work, `${script}-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(argsFile, JSON.stringify(args), { mode: 0o600 });
  const child = spawn(process.execPath, [join(import.meta.dirname, script), argsFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (firstLine && out.includes('\n')) resolve({ child, line: out.split('\n')[0] });
    });
    child.once('exit', (code) =>
      code === 0 ? resolve({ child, line: out.trim() }) : reject(new Error(`${script} exited ${code}`)),
    );
  });
}

/** A throw-away self-signed server certificate for the baseline (openssl is a prerequisite). */
function selfSignedServer(dir) {
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
      '-keyout',
      join(dir, 'baseline.key.pem'),
      '-out',
      join(dir, 'baseline.pem'),
    ],
    { stdio: 'ignore' },
  );
  if (made.status !== 0) throw new Error('openssl could not make the baseline certificate');
  return {
    keyPem: readFileSync(join(dir, 'baseline.key.pem'), 'utf8'),
    certPem: readFileSync(join(dir, 'baseline.pem'), 'utf8'),
  };
}

/**
 * One signed manifest deployed to every meter of the fleet, as a rollout would: each check-in then finds
 * an active execution. Returns how to measure presigned download URLs per second over those executions.
 */
async function deployToFleet(platform, fleet) {
  const api = testing.operatorApi(platform.ota.url, fleet.apiKey);
  const must = async (method, path, body, contentType) => {
    const answer = await api(method, path, body, contentType);
    if (answer.status >= 300)
      throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const authority = createPrivateKey(readFileSync(fleet.batch.updateAuthorityKeyFile));
  await must('PUT', '/v1/firmware/classes/em300', { vendorId: 'test' });
  await must('POST', '/v1/firmware/update-authorities', {
    publicKeyPem: readFileSync(join(fleet.batch.dir, 'update.pub.pem'), 'utf8'),
  });
  const image = randomBytes(256 * 1024);
  const sha256 = createHash('sha256').update(image).digest('hex');
  const declared = await must('POST', '/v1/firmware/images', {
    classId: 'em300',
    component: 'app',
    size: image.length,
    sha256,
  });
  const put = await fetch(declared.upload.parts[0].url, { method: 'PUT', body: image });
  await must('POST', `/v1/firmware/images/${declared.image.imageId}/complete`, {
    parts: [{ partNumber: 1, etag: put.headers.get('etag') }],
  });
  const now = Date.now();
  const signed = firmware.signManifest(
    {
      manifestVersion: 1,
      sequenceNumber: 1,
      vendorId: 'test',
      classId: 'em300',
      components: [
        {
          id: ['app'],
          version: '2.0.0',
          format: 'raw',
          digest: { alg: 'sha-256', value: sha256 },
          size: image.length,
        },
      ],
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 30 * 86_400_000).toISOString(),
      description: 'bench',
    },
    [{ privateKey: authority }],
  );
  const accepted = await must(
    'POST',
    '/v1/firmware/manifests',
    Buffer.from(signed.envelopeBytes).toString('utf8'),
    // Sent as the exact signed bytes (operatorApi serialises only a plain application/json body).
    'application/json; charset=utf-8',
  );
  // The distributor's device projection follows enrollment's topics: on a loaded machine the last
  // meters may not be ACTIVE there yet, which the deployment refuses (422 naming them); ask again.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await api('POST', '/v1/firmware/deployments', {
      manifestId: accepted.manifestId,
      deviceIds: fleet.batch.endpointNames,
    });
    if (answer.status < 300) return answer.body;
    if (answer.body?.code !== 'DEVICES_NOT_ELIGIBLE' || Date.now() > deadline)
      throw new Error(`POST /v1/firmware/deployments: ${answer.status} ${JSON.stringify(answer.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** One HTTPS request on a meter's own keep-alive mutual-TLS agent; resolves with status and JSON body. */
function call(agent, url, method, path, body) {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: target.hostname,
        port: target.port,
        path,
        method,
        agent,
        headers: body ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

/**
 * Presigned download URLs per second: each meter checks in once for its directive's execution id,
 * then asks for its image's URL `perMeter` times (within the re-issue limit), all meters at once.
 */
async function downloadUrlsPerSecond(platform, credentials, perMeter) {
  const agents = credentials.map(
    (m) =>
      new HttpsAgent({
        keepAlive: true,
        maxSockets: 1,
        cert: m.certPem,
        key: m.keyPem,
        ca: platform.serverCaPem,
      }),
  );
  const executions = await Promise.all(
    agents.map(async (agent) => {
      const answer = await call(
        agent,
        platform.otaUri,
        'GET',
        '/ota/v1/check-in?installed=none&seq=0&slot=A',
      );
      return answer.body?.directive?.directive?.executionId;
    }),
  );
  const latencies = [];
  const statuses = {};
  const started = performance.now();
  await Promise.all(
    agents.map(async (agent, i) => {
      for (let n = 0; n < perMeter && executions[i]; n++) {
        const t0 = performance.now();
        const answer = await call(
          agent,
          platform.otaUri,
          'POST',
          `/ota/v1/executions/${executions[i]}/download-url`,
          {
            component: 'app',
          },
        );
        latencies.push(performance.now() - t0);
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      }
    }),
  );
  const elapsed = performance.now() - started;
  for (const agent of agents) agent.destroy();
  latencies.sort((x, y) => x - y);
  return {
    count: latencies.length,
    statuses,
    perSecond: (latencies.length / elapsed) * 1000,
    p50Ms: Number((latencies[Math.floor(latencies.length / 2)] ?? 0).toFixed(2)),
  };
}

const up = spawnSync('bash', [join(root, 'deploy/local/stack.sh'), 'up'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (up.status !== 0) process.exit(1);
const stack = testing.stackEnvFrom(testing.parseEnvExports(await testing.localStack('env')));
const work = mkdtempSync(join(tmpdir(), 'meterkeep-bench-ota-'));
const platform = await testing.startPlatform({ logs: work, stack, env: { LOG_LEVEL: 'warn' }, ota: true });

try {
  const runId = Date.now().toString(36).toUpperCase();
  console.log(`minting, enrolling and bootstrapping ${meters} meters ...`);
  const fleet = await testing.activeFleet(platform, {
    tenantId: `bench-${runId.toLowerCase()}`,
    count: meters,
    prefix: `BO${runId}`,
    concurrency: 32,
    model: 'em300',
  });
  const credentials = readdirSync(fleet.batch.statesDir)
    .sort()
    .map((name) => JSON.parse(readFileSync(join(fleet.batch.statesDir, name, 'operational.json'), 'utf8')))
    .map((op) => ({ certPem: [op.certificatePem, ...op.chainPem].join(''), keyPem: op.privateKeyPem }));
  const clientCaPem = JSON.parse(
    readFileSync(
      join(fleet.batch.statesDir, readdirSync(fleet.batch.statesDir).sort()[0], 'operational.json'),
      'utf8',
    ),
  ).chainPem.at(-1);

  // The distributor's directive state for the fleet: one deployment, so every meter's check-in looks
  // up an active execution (the realistic case during a rollout; an idle fleet is cheaper).
  const deployment = await deployToFleet(platform, fleet);
  console.log(
    `deployed to ${fleet.batch.endpointNames.length} meters (deployment ${deployment.deploymentId})`,
  );
  const query = `/ota/v1/check-in?installed=none&seq=0&slot=A`;

  // The baseline's server certificate: a leaf of the platform server CA is not ours to mint, so the
  // baseline uses a self-made CA the load client trusts in its run; the client certificates are the
  // meters' own, checked against their tenant's issuing chain.
  const baselineTls = selfSignedServer(work);
  const rows = [];
  for (let run = 1; run <= runs; run++) {
    const { child: baseline, line } = await runScript(
      'baseline-server.mjs',
      { keyPem: baselineTls.keyPem, certPem: baselineTls.certPem, clientCaPem },
      { firstLine: true },
    );
    const bareBudget = cpuBudget();
    const bare = JSON.parse(
      (
        await runScript('checkin-load.mjs', {
          url: `https://localhost:${line.trim()}`,
          path: query,
          meters: credentials,
          concurrency,
          durationMs,
          caPem: baselineTls.certPem,
        })
      ).line,
    );
    bareBudget.stop(bare.requests, 'check-in');
    baseline.kill();

    const budget = cpuBudget();
    const served = JSON.parse(
      (
        await runScript('checkin-load.mjs', {
          url: platform.otaUri,
          path: query,
          meters: credentials,
          concurrency,
          durationMs,
          caPem: platform.serverCaPem,
        })
      ).line,
    );
    budget.stop(served.requests, 'check-in');
    const rate = (r) => (r.requests / r.elapsedMs) * 1000;
    rows.push({ ota: rate(served), bare: rate(bare), p50: served.p50Ms, p99: served.p99Ms });
    console.log(
      `run ${run}: distributor ${Math.round(rate(served))} check-ins/s (statuses ${JSON.stringify(served.statuses)}, ` +
        `errors ${served.errors}, p50 ${served.p50Ms} ms, p99 ${served.p99Ms} ms); bare mTLS 304 server ` +
        `${Math.round(rate(bare))}/s (p50 ${bare.p50Ms} ms, p99 ${bare.p99Ms} ms)`,
    );
    if (served.errors > 0 || Object.keys(served.statuses).some((s) => s !== '304'))
      throw new Error(`the distributor answered other than 304: ${JSON.stringify(served.statuses)}`);
  }

  const urls = await downloadUrlsPerSecond(platform, credentials, Number(values['urls-per-meter']));
  console.log(
    `presigned download URLs: ${Math.round(urls.perSecond)}/s over ${urls.count} requests ` +
      `(statuses ${JSON.stringify(urls.statuses)}, p50 ${urls.p50Ms} ms)`,
  );
  const otaMedian = median(rows.map((r) => r.ota));
  const bareMedian = median(rows.map((r) => r.bare));
  console.log(
    `medians over ${runs} runs, ${meters} meters, ${concurrency} connections, ${durationMs / 1000} s each: ` +
      `p50 ${median(rows.map((r) => r.p50))} ms, p99 ${median(rows.map((r) => r.p99))} ms`,
  );
  console.log(
    `ota-checkin: ${Math.round(otaMedian)} check-ins/s; ratio ${(otaMedian / bareMedian).toFixed(2)} vs bare mTLS 304 server`,
  );
} finally {
  await platform.stop();
}
