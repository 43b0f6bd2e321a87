#!/usr/bin/env node
// Factory throughput: identities per second through the CLI (`batch create --count N`), beside a bare
// loop of Node crypto key generation plus one signature run in the same process run, on the same
// number of worker threads. Peak RSS of the CLI, and its RSS at 25/50/75/100 % of the batch, to show
// memory stays flat as the batch grows. Each measurement runs 3 times; medians are quoted.
//
//   node tools/build.mjs && node test/bench/factory/factory.bench.mjs [--count 100000] [--runs 3] [--workers N]
//     [--cli path/to/main.js]
//
// Ends with exactly one line: `factory: <median ids/s> identities/s; ratio <r> vs bare keygen+sign`.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    workers: { type: 'string', default: String(availableParallelism()) },
    // Another build to measure, such as a copy of dist/ with a change under test.
    cli: { type: 'string', default: join(root, 'dist/apps/factory/src/main.js') },
  },
});
const cli = resolve(values.cli);
const count = Number(values.count.replace(/_/g, ''));
const runs = Number(values.runs);
const workers = Number(values.workers);
if (!existsSync(cli)) {
  console.error(`${cli} not found: run \`node tools/build.mjs\` first`);
  process.exit(2);
}

const passphrase = 'bench passphrase, not a secret';
const env = { ...process.env, METERKEEP_CA_PASSPHRASE: passphrase };
const work = mkdtempSync(join(tmpdir(), 'meterkeep-factory-bench-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

function run(args, { sampleRss = false } = {}) {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hwm = 0;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // VmHWM is the kernel's own peak; sampling it keeps the last value before the process exits.
    const sampler = sampleRss
      ? setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) hwm = Math.max(hwm, Number(m[1]) * 1024);
          } catch {
            // exited between samples
          }
        }, 50)
      : undefined;
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(sampler);
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0)
        reject(new Error(`factory ${args.slice(0, 2).join(' ')} exited ${code}: ${stderr.trim()}`));
      else resolvePromise({ stdout, seconds, hwm });
    });
  });
}

/** The bare loop: generateKeyPairSync(P-256) + sign(sha256, 300 bytes), split over `workers` threads. */
async function bareLoop() {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { generateKeyPairSync, sign } = require('node:crypto');
    const data = Buffer.alloc(300, 7);
    parentPort.once('message', () => {
      for (let i = 0; i < workerData; i++) {
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
        sign('sha256', data, privateKey);
      }
      parentPort.postMessage('done');
    });
    parentPort.postMessage('ready');`;
  const shares = Array.from(
    { length: workers },
    (_, i) => Math.floor(count / workers) + (i < count % workers ? 1 : 0),
  );
  const pool = shares.map((share) => new Worker(code, { eval: true, workerData: share }));
  await Promise.all(pool.map((w) => new Promise((r) => w.once('message', r))));
  const started = performance.now();
  await Promise.all(pool.map((w) => new Promise((r) => (w.once('message', r), w.postMessage('go')))));
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(pool.map((w) => w.terminate()));
  return count / seconds;
}

try {
  // A manufacturer CA, a bootstrap CA for the trust anchor, an update authority key.
  await run(['ca', 'init', '--out', join(work, 'ca'), '--name', 'Bench Meters']);
  await run(['ca', 'init', '--out', join(work, 'bootstrap-ca'), '--name', 'Bench Utility']);
  const updateKey = join(work, 'update.pub.pem');
  writeFileSync(
    updateKey,
    generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }),
  );
  const batchArgs = (out) => [
    'batch',
    'create',
    '--count',
    String(count),
    '--model',
    'EM300',
    '--out',
    out,
    '--ca',
    join(work, 'ca'),
    '--bootstrap-uri',
    'https://bootstrap.utility.example:8443/bs',
    '--bootstrap-trust-anchor',
    join(work, 'bootstrap-ca', 'root.pem'),
    '--update-authority-key',
    updateKey,
    '--vendor-id',
    'acme',
    '--class-id',
    'em300-v2',
    '--param',
    'tariff=dual-rate',
    '--workers',
    String(workers),
    '--stats-json',
  ];

  const bare = [];
  const cliRuns = [];
  for (let i = 0; i < runs; i++) {
    // Interleaved, so a noisy neighbour on the machine weighs on both sides alike.
    bare.push(await bareLoop());
    const out = join(work, `batch-${i}`);
    const { stdout, seconds, hwm } = await run(batchArgs(out), { sampleRss: true });
    const stats = JSON.parse(stdout.trim().split('\n').pop());
    if (stats.count !== count) throw new Error(`batch made ${stats.count} bundles, not ${count}`);
    cliRuns.push({
      perSecond: count / seconds,
      seconds,
      hwm: Math.max(hwm, stats.maxRssBytes),
      rssAt: stats.rssAt,
    });
    rmSync(out, { recursive: true, force: true });
  }

  const rows = [
    ['run', 'bare keygen+sign /s', 'CLI identities /s', 'CLI wall s', 'peak RSS', 'RSS at 25/50/75/100 %'],
  ];
  cliRuns.forEach((c, i) =>
    rows.push([
      String(i + 1),
      Math.round(bare[i]).toLocaleString('en-US'),
      Math.round(c.perSecond).toLocaleString('en-US'),
      c.seconds.toFixed(2),
      mib(c.hwm),
      c.rssAt.map((s) => mib(s.rssBytes).replace(' MiB', '')).join(' / ') + ' MiB',
    ]),
  );
  const cliMedian = median(cliRuns.map((c) => c.perSecond));
  const bareMedian = median(bare);
  rows.push([
    'median',
    Math.round(bareMedian).toLocaleString('en-US'),
    Math.round(cliMedian).toLocaleString('en-US'),
    '',
    mib(median(cliRuns.map((c) => c.hwm))),
    '',
  ]);
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => r[col].length)));
  console.log(
    `batch of ${count.toLocaleString('en-US')} identities, ${workers} worker threads, node ${process.version}`,
  );
  for (const r of rows) console.log(r.map((cell, col) => cell.padStart(widths[col])).join('  '));
  console.log(
    `factory: ${Math.round(cliMedian)} identities/s; ratio ${(cliMedian / bareMedian).toFixed(2)} vs bare keygen+sign`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
