#!/usr/bin/env node
// Readings per second sustained by a meter-sim fleet (batches over keep-alive mutual-TLS connections)
// against the real telemetry ingest (certificate check, per-reading validation, de-duplication in
// Redis, AES-256-GCM under each occupancy's data key, Kafka transactions with acks=all, answer after
// commit), beside a bare kafkajs producer (idempotent, acks=all) writing the same number of records
// of the same size to the same broker in the same run. Needs the local stack and a build.
//   node_modules/.bin/node test/bench/ingest/ingest.bench.mjs [--meters 1000] [--duration 60]
//     [--batch-size 500] [--concurrency 64] [--runs 3] [--ingest-workers 1]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuBudget } from '../cpu-budget.mjs';

const root = join(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);
const testing = require(join(root, 'dist/libs/testing/src/index.js'));
const { Kafka, Partitioners, logLevel } = require('kafkajs');
const { kafkaSecurity } = require(join(root, 'dist/libs/config/src/index.js'));

const { values } = parseArgs({
  options: {
    meters: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '60' },
    'batch-size': { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '64' },
    runs: { type: 'string', default: '3' },
    'ingest-workers': { type: 'string', default: '1' },
  },
});
const meters = Number(values.meters);
const durationS = Number(values.duration);
const batchSize = Number(values['batch-size']);
const concurrency = Number(values.concurrency);
const runs = Number(values.runs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const TOPIC = 'telemetry.readings.v1';

const up = spawnSync('bash', [join(root, 'deploy/local/stack.sh'), 'up'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (up.status !== 0) process.exit(1);
const stack = testing.stackEnvFrom(testing.parseEnvExports(await testing.localStack('env')));
const work = mkdtempSync(join(tmpdir(), 'meterkeep-bench-ingest-'));
const kafka = new Kafka({
  brokers: stack.KAFKA_BROKERS.split(','),
  // The stack's admin (TLS, SCRAM) where the stack authenticates.
  ...kafkaSecurity(testing.principalEnv('admin', stack)),
  clientId: 'bench-ingest',
  logLevel: logLevel.NOTHING,
});

const platform = await testing.startPlatform({
  logs: work,
  stack,
  env: { LOG_LEVEL: 'warn' },
  // Days of history are sent: keep them inside the de-duplication window.
  ingestEnv: {
    TELEMETRY_DEDUPE_WINDOW_MS: String(400 * 86_400_000),
    TELEMETRY_WORKERS: values['ingest-workers'],
    ...profileEnv(),
  },
});

/** METERKEEP_BENCH_PROFILE=<dir> writes a CPU profile of the ingest there when it stops. */
function profileEnv() {
  const dir = process.env.METERKEEP_BENCH_PROFILE;
  return dir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` } : {};
}

async function sampleRecordSize(count = 200) {
  const consumer = kafka.consumer({ groupId: `bench-size-${Date.now()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: false });
  const sizes = [];
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(TOPIC);
  await admin.disconnect();
  await consumer.run({
    eachMessage: async ({ message }) => {
      sizes.push({ key: message.key.length, value: message.value.length, headers: message.headers });
    },
  });
  for (const { partition, high } of offsets)
    consumer.seek({
      topic: TOPIC,
      partition,
      offset: String(Math.max(0, Number(high) - Math.ceil(count / offsets.length))),
    });
  await testing.waitUntil(() => sizes.length >= Math.min(count, 50), { timeoutMs: 30_000 });
  await consumer.disconnect();
  return {
    key: Math.round(sizes.reduce((n, s) => n + s.key, 0) / sizes.length),
    value: Math.round(sizes.reduce((n, s) => n + s.value, 0) / sizes.length),
  };
}

/**
 * The baseline: one idempotent kafkajs producer, acks=all, sending `records` records of `size` in
 * requests of at most 768 KiB, as the ingest's transactional producer sends them (MAX_REQUEST_BYTES).
 */
async function bareProducer(records, size, readingsPerRecord) {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const value = Buffer.alloc(size.value, 'x');
  const perRequest = Math.max(1, Math.floor((768 * 1024) / (size.key + size.value)));
  let sent = 0;
  const t0 = performance.now();
  while (sent < records) {
    const n = Math.min(perRequest, records - sent);
    await producer.send({
      topic: 'bench.bare.v1',
      acks: -1,
      messages: Array.from({ length: n }, (_, i) => ({
        key: `bench/METER-${(sent + i) % meters}`.padEnd(size.key, 'x'),
        value,
      })),
    });
    sent += n;
  }
  const elapsed = performance.now() - t0;
  await producer.disconnect();
  return {
    recordsPerSecond: (records / elapsed) * 1000,
    readingsPerSecond: ((records * readingsPerRecord) / elapsed) * 1000,
  };
}

/** Peak RSS of a process and its children (the ingest's workers), sampled every 500 ms until stopped. */
function rssSampler(pid) {
  let peak = 0;
  const timer = setInterval(() => {
    const own = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).stdout;
    const children = spawnSync('ps', ['-o', 'rss=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout;
    const total = `${own}\n${children}`
      .split('\n')
      .map((line) => Number(line.trim()) || 0)
      .reduce((a, b) => a + b, 0);
    if (total) peak = Math.max(peak, total * 1024);
  }, 500);
  return () => {
    clearInterval(timer);
    return peak;
  };
}

try {
  const admin = kafka.admin();
  await admin.connect();
  await admin
    .createTopics({ topics: [{ topic: 'bench.bare.v1', numPartitions: 12 }] })
    .catch(() => undefined);
  await admin.disconnect();

  const runId = Date.now().toString(36).toUpperCase();
  console.log(`minting, enrolling and bootstrapping ${meters} meters ...`);
  const fleet = await testing.activeFleet(platform, {
    tenantId: `bench-${runId.toLowerCase()}`,
    count: meters,
    prefix: `BI${runId}`,
    concurrency: 32,
  });

  const rows = [];
  // Each run sends other days, so every reading is new to the ingest.
  const daysPerRun = Math.floor(390 / runs);
  for (let run = 1; run <= runs; run++) {
    const from = new Date(Date.now() - (run * daysPerRun + 1) * 86_400_000).toISOString().slice(0, 10);
    const stopRss = rssSampler(platform.ingest.child.pid);
    const budget = cpuBudget();
    const child = spawn(
      process.execPath,
      [
        join(root, 'dist/apps/meter-sim/src/main.js'),
        'fleet',
        'report',
        '--state',
        fleet.batch.statesDir,
        '--from',
        from,
        '--days',
        String(Math.floor(daysPerRun)),
        '--batch-size',
        String(batchSize),
        '--concurrency',
        String(concurrency),
        '--duration',
        String(durationS),
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await new Promise((resolve) => child.once('exit', resolve));
    const peakRss = stopRss();
    const report = JSON.parse(out);
    console.log(`run ${run}: meter-sim fleet report`);
    budget.stop(report.readings + report.events, 'reading');
    if (report.failed > 0) throw new Error(`meters failed: ${JSON.stringify(report.failures.slice(0, 3))}`);
    // The high watermarks also count transaction markers: one record per batch (a meter without an
    // occupancy seals each batch under its one key).
    const records = report.batches;
    const size = await sampleRecordSize();
    const readingsPerRecord = (report.readings + report.events) / records;
    const bareBudget = cpuBudget();
    const bare = await bareProducer(records, size, readingsPerRecord);
    console.log(`run ${run}: bare producer`);
    bareBudget.stop(report.readings + report.events, 'reading');
    const ingestRate = ((report.readings + report.events) / report.elapsedMs) * 1000;
    rows.push({ ingestRate, bare: bare.readingsPerSecond, p50: report.p50Ms, p99: report.p99Ms, peakRss });
    console.log(
      `run ${run}: ingest ${Math.round(ingestRate)} readings/s over ${(report.elapsedMs / 1000).toFixed(0)} s ` +
        `(${report.batches} batches, ${records} records of ~${size.value} B, p50 ${report.p50Ms} ms, p99 ${report.p99Ms} ms, ` +
        `retries ${report.retries}, ingest peak RSS ${Math.round(peakRss / 1048576)} MiB); ` +
        `bare producer ${Math.round(bare.readingsPerSecond)} readings/s (${Math.round(bare.recordsPerSecond)} records/s)`,
    );
  }
  const ingestMedian = median(rows.map((r) => r.ingestRate));
  const bareMedian = median(rows.map((r) => r.bare));
  console.log(
    `medians over ${runs} runs, ${meters} meters, concurrency ${concurrency}, batches of ${batchSize}, ${values['ingest-workers']} ingest worker(s): ` +
      `p50 ${median(rows.map((r) => r.p50))} ms, p99 ${median(rows.map((r) => r.p99))} ms, peak RSS ${Math.round(median(rows.map((r) => r.peakRss)) / 1048576)} MiB`,
  );
  console.log(
    `ingest: ${Math.round(ingestMedian)} readings/s; ratio ${(ingestMedian / bareMedian).toFixed(2)} vs bare kafkajs producer`,
  );
} finally {
  await platform.stop();
}
