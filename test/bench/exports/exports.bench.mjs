// Subject access export latency and read cost (spec privacy.md §4.4, issue #15: p95 ≤ 60 s for 2
// occupancies × 13 months of half-hourly data while the topics hold 1,000,000 other meters' data,
// reading at most ~2× the subject's own ciphertext).
//
//   node_modules/.bin/node test/bench/exports/exports.bench.mjs [--other-meters 1000000] [--months 13]
//     [--runs 5] [--send-batch 1000]
//
// Privacy runs in-process from dist/ (its Nest application, the export job's timer on, the gate's off)
// in a schema of its own. The subject holds two occupancies (two meters, both from --months ago): one
// sealed record of 48 half-hourly readings per meter and day on telemetry.readings.v1, interleaved
// with --other-meters records of other meters of the same tenant (one per meter, spread over the same
// days and so over the same 12 partitions). Sends of --send-batch records (one record batch per
// partition each, as the ingest's shared transactions write them), the subject's records amid the
// others'. Other meters' records are real-sized envelopes sealed once and re-addressed: an export
// skips them unopened, so only their size and position matter.
//
// The readings index is written by the release consumer's use case (StageReadingsUseCase with each
// subject record's partition and offset, as ReadingsConsumer hands them over); other meters' records
// would only be dead-lettered there (no data key) and index nothing, so they are not fed through it.
//
// Per run: RequestExportUseCase (what POST /v1/subjects/{ref}/exports calls) → READY, timed from the
// request to the READY observed (polled every 25 ms); the summary's records fetched vs the subject's
// own; the archive downloaded through its presigned link and opened. Baseline in the same run: a bare
// kafkajs loop that seeks to each of the subject's record offsets, takes that record and opens it
// under keys opened once (no index, no validation, no archive).
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);
const dist = (path) => require(join(root, 'dist', path));
const testing = dist('libs/testing/src/index.js');
const { kafkaSecurity } = dist('libs/config/src/index.js');
const { TELEMETRY_READINGS, ALL_TOPICS } = dist('libs/contracts/src/index.js');
const { createKafkaClient, ensureTopics } = dist('libs/kafka/src/index.js');
const { createLogger } = dist('libs/observability/src/index.js');
const { startService } = dist('libs/service-runtime/src/index.js');
const { sealReadings, openReadings, readingEventId } = dist('libs/reading-seal/src/index.js');
const { createDatabase } = dist('libs/db/src/index.js');
const { AppModule } = dist('apps/privacy/src/app.module.js');
const { PrivacyConfig } = dist('apps/privacy/src/config.js');
const { DataKeyVault } = dist('apps/privacy/src/data-keys/data-key-vault.js');
const { OpenOccupancyUseCase } = dist('apps/privacy/src/occupancies/open-occupancy.use-case.js');
const { StageReadingsUseCase } = dist('apps/privacy/src/release/stage-readings.use-case.js');
const { RequestExportUseCase } = dist('apps/privacy/src/exports/request-export.use-case.js');
const { GetExportUseCase } = dist('apps/privacy/src/exports/get-export.use-case.js');
const { openArchive } = dist('apps/privacy/src/exports/export-archive.js');
const { KAFKA_CLIENT } = dist('libs/kafka/src/nest/index.js');
const { Partitioners } = require('kafkajs');
const { sql } = require('kysely');

const { values } = parseArgs({
  options: {
    'other-meters': { type: 'string', default: '1000000' },
    months: { type: 'string', default: '13' },
    runs: { type: 'string', default: '5' },
    'send-batch': { type: 'string', default: '1000' },
  },
});
const otherMeters = Number(values['other-meters']);
const days = Math.round(Number(values.months) * 30.44);
const runs = Number(values.runs);
const sendBatch = Number(values['send-batch']);
const quantile = (xs, q) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];
const tag = randomBytes(4).toString('hex');
const DAY = 86_400_000;
const HALF_HOUR = 1_800_000;
const topic = TELEMETRY_READINGS.name;

const up = spawnSync('bash', [join(root, 'deploy/local/stack.sh'), 'up'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (up.status !== 0) process.exit(1);
const stack = testing.stackEnvFrom(testing.parseEnvExports(await testing.localStack('env')));
Object.assign(process.env, stack);
const endpoints = testing.stackEndpoints();
const logger = createLogger({ service: 'bench-exports', level: 'error' });
const kafka = createKafkaClient({
  clientId: `bench-exports-${tag}`,
  brokers: stack.KAFKA_BROKERS.split(','),
  ...kafkaSecurity(testing.principalEnv('admin', stack)),
  logger,
});
await ensureTopics(kafka, ALL_TOPICS, { deadLetter: true });

const work = mkdtempSync(join(tmpdir(), 'meterkeep-bench-exports-'));
const keyFile = join(work, 'certificate-key.pem');
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

const schema = `bench_exports_${tag}`;
const config = PrivacyConfig.parse({
  ...testing.serviceStackEnv('privacy'),
  KAFKA_CLIENT_ID: `bench-exports-${tag}`,
  DATABASE_URL: endpoints.databaseUrl,
  DATABASE_POOL_MAX: '8',
  S3_ENDPOINT: endpoints.s3.endpoint,
  S3_REGION: endpoints.s3.region,
  S3_ACCESS_KEY_ID: endpoints.s3.accessKeyId,
  S3_SECRET_ACCESS_KEY: endpoints.s3.secretAccessKey,
  S3_FORCE_PATH_STYLE: String(endpoints.s3.forcePathStyle),
  PRIVACY_KEK: randomBytes(32).toString('base64'),
  ...testing.serviceIdentity('privacy'),
  INTERNAL_PORT: '0',
  HOST: '127.0.0.1',
  ENROLLMENT_INTERNAL_URL: 'https://127.0.0.1:9',
  PRIVACY_DATA_KEY_GRANTS: '{}',
  PRIVACY_RELEASE_INTERVAL_MS: '0',
  PRIVACY_CERTIFICATE_KEY_FILE: keyFile,
  PRIVACY_EXPORT_INTERVAL_MS: '50',
  LOG_LEVEL: 'error',
});
const service = await startService({
  name: 'privacy',
  module: AppModule.forRoot(config, logger, { schema }),
  port: 0,
  host: '127.0.0.1',
  logger,
});
const app = service.app;

// Bytes the brokers hand over to Fetch requests (response sizes), per reader: the read's real cost, as
// a fetch returns whole record batches and up to maxBytesPerPartition past the offset asked for.
const fetchedBytes = { export: 0, bare: 0 };
const countFetches = (consumer, reader) => {
  consumer.on(consumer.events.REQUEST, ({ payload }) => {
    if (payload.apiName === 'Fetch') fetchedBytes[reader] += payload.size;
  });
  return consumer;
};
const privacyKafka = app.get(KAFKA_CLIENT);
const makeConsumer = privacyKafka.consumer.bind(privacyKafka);
privacyKafka.consumer = (options) =>
  options.groupId.startsWith('privacy-export-')
    ? countFetches(makeConsumer(options), 'export')
    : makeConsumer(options);
const db = createDatabase({ url: endpoints.databaseUrl, schema, pool: { max: 2 } });

const tenantId = `bench-${tag}`;
const caller = { tenantId, keyId: 'bench', role: 'admin', actor: 'key_bench' };
const subjectRef = `subject-${tag}`;
const from = Math.floor(Date.now() / DAY) * DAY - days * DAY;
const subjectMeters = [];
for (const n of [0, 1]) {
  const meterId = `MTR-EX-${tag}-${n}`;
  const opened = await app.get(OpenOccupancyUseCase).execute(caller, {
    meterId,
    subjectRef,
    from: new Date(from),
    consumerClass: 'domestic',
    contractDate: new Date('2018-01-01'),
  });
  const row = await db
    .selectFrom('data_keys')
    .selectAll()
    .where('occupancy_id', '=', opened.occupancyId)
    .executeTakeFirstOrThrow();
  subjectMeters.push({ meterId, keyId: row.key_id, key: await app.get(DataKeyVault).open(row) });
}
const keys = new Map(subjectMeters.map((m) => [m.keyId, m.key]));

const payloadOf = (day, batchId) => ({
  batchId,
  readings: Array.from({ length: 48 }, (_, i) => ({
    obis: '1-0:1.8.0*255',
    intervalStart: new Date(from + day * DAY + i * HALF_HOUR).toISOString().replace('.000Z', 'Z'),
    intervalMinutes: 30,
    value: 100 + i,
    scaler: 0,
    unit: 'Wh',
  })),
  events: [],
});
const sealed = (m, day) => {
  const batchId = `b-${tag}-${day}`;
  const context = {
    eventId: readingEventId(tenantId, m.meterId, batchId, m.keyId),
    tenantId,
    meterId: m.meterId,
  };
  return {
    ...context,
    occurredAt: new Date().toISOString(),
    ...sealReadings(payloadOf(day, batchId), { keyId: m.keyId, key: m.key }, context),
  };
};
// Other meters' records: one real envelope, re-addressed (never opened by an export).
const template = sealed({ meterId: 'MTR-TEMPLATE', keyId: `k-other-${tag}`, key: randomBytes(32) }, 0);
const otherMessage = (i) => {
  const meterId = `MTR-OX-${tag}-${i}`;
  return {
    key: `${tenantId}/${meterId}`,
    value: JSON.stringify({ ...template, eventId: `${tag}-${i}`, meterId, keyId: `k-other-${tag}-${i}` }),
  };
};

// Not idempotent: its sends run several at once, which kafkajs' idempotent producer does not keep in
// sequence under load (OUT_OF_ORDER_SEQUENCE_NUMBER). A retried send's duplicates are never indexed.
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
// The producer's own partitioner, to place each subject record: a send writes one record batch per
// partition, its messages in order from the base offset the broker answers.
const partitionOf = Partitioners.DefaultPartitioner();
const partitionMetadata = Array.from({ length: TELEMETRY_READINGS.partitions }, (_, partitionId) => ({
  partitionId,
  leader: 0,
}));
const subjectRecords = []; // { partition, offset, event }
const produceStart = performance.now();
let otherSent = 0;
let bytesSent = 0;
/** One send; the subject's records in it get their partition and offset from the answer. */
async function send(messages) {
  const placed = new Map();
  const positions = messages.map((message) => {
    const partition = partitionOf({ topic, partitionMetadata, message });
    const index = placed.get(partition) ?? 0;
    placed.set(partition, index + 1);
    bytesSent += message.value.length;
    return { partition, index };
  });
  const answer = await producer.send({
    topic,
    acks: -1,
    messages: messages.map(({ event: _event, ...m }) => m),
  });
  const base = new Map(answer.map((a) => [a.partition, Number(a.baseOffset)]));
  messages.forEach((message, i) => {
    if (!message.event) return;
    const { partition, index } = positions[i];
    subjectRecords.push({ partition, offset: base.get(partition) + index, event: message.event });
  });
}
for (let day = 0; day < days; day++) {
  const upTo = Math.round(((day + 1) * otherMeters) / days);
  const messages = [];
  for (; otherSent < upTo; otherSent++) messages.push(otherMessage(otherSent));
  // The subject's day, one record per meter, amid other meters' records of the same send (as the
  // ingest's shared transactions write them): in the record batch of its partition, not one of its own.
  const subjectDay = subjectMeters.map((m) => {
    const event = sealed(m, day);
    return { key: `${tenantId}/${m.meterId}`, value: JSON.stringify(event), event };
  });
  messages.splice(Math.min(messages.length, Math.floor(sendBatch / 2)), 0, ...subjectDay);
  const sends = [];
  for (let at = 0; at < messages.length; at += sendBatch)
    sends.push(send(messages.slice(at, at + sendBatch)));
  await Promise.all(sends);
  if (day % 50 === 49) console.log(`  produced ${day + 1}/${days} days, ${otherSent} other records`);
}
await producer.disconnect();
const ownBytes = subjectRecords.reduce((n, r) => n + JSON.stringify(r.event).length, 0);
console.log(
  `produced ${subjectRecords.length} subject + ${otherSent} other records (${(bytesSent / 1e6).toFixed(0)} MB, ` +
    `subject ${(ownBytes / 1e6).toFixed(1)} MB) in ${Math.round((performance.now() - produceStart) / 1000)} s; ` +
    `subject partitions ${[...new Set(subjectRecords.map((r) => r.partition))].join(',')}`,
);

// The index, as the release consumer writes it: the subject records in offset order with their positions.
const indexStart = performance.now();
subjectRecords.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
const stage = app.get(StageReadingsUseCase);
// Per partition, in slices of 500 records (the consumer's default maxBatchRecords).
for (let i = 0; i < subjectRecords.length;) {
  const slice = [];
  const partition = subjectRecords[i].partition;
  while (i < subjectRecords.length && subjectRecords[i].partition === partition && slice.length < 500) {
    const r = subjectRecords[i++];
    slice.push({ event: r.event, position: { partition: r.partition, offset: r.offset } });
  }
  await stage.execute(slice);
}
const ranges = await db
  .selectFrom('reading_ranges')
  .select([sql`count(*)::int`.as('ranges'), sql`coalesce(sum(records), 0)::int`.as('records')])
  .where('tenant_id', '=', tenantId)
  .executeTakeFirstOrThrow();
if (ranges.records !== subjectRecords.length)
  throw new Error(`index holds ${ranges.records} of ${subjectRecords.length} subject records`);
console.log(
  `index: ${ranges.records} records in ${ranges.ranges} ranges, written in ${Math.round(performance.now() - indexStart)} ms`,
);

/** Bare: one kafkajs consumer seeking to each of the subject's offsets in turn, opening what it takes. */
async function bare() {
  const queues = new Map();
  for (const r of subjectRecords) queues.set(r.partition, [...(queues.get(r.partition) ?? []), r.offset]);
  const consumer = countFetches(
    kafka.consumer({
      groupId: `bench-exports-bare-${tag}-${randomBytes(2).toString('hex')}`,
      maxWaitTimeInMs: 200,
      maxBytesPerPartition: 256 * 1024,
    }),
    'bare',
  );
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  let readings = 0;
  let fetched = 0;
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  const pending = new Set(queues.keys());
  const started = performance.now();
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const queue = queues.get(partition);
      if (!queue || queue.length === 0) return;
      fetched += 1;
      if (Number(message.offset) !== queue[0]) return;
      const event = JSON.parse(message.value.toString('utf8'));
      readings += openReadings(event, keys.get(event.keyId)).readings.length;
      queue.shift();
      if (queue.length > 0) consumer.seek({ topic, partition, offset: String(queue[0]) });
      else {
        consumer.pause([{ topic, partitions: [partition] }]);
        pending.delete(partition);
        if (pending.size === 0) finish();
      }
    },
  });
  for (const [partition, queue] of queues) consumer.seek({ topic, partition, offset: String(queue[0]) });
  await done;
  const ms = performance.now() - started;
  await consumer.disconnect();
  return { ms, readings, fetched };
}

async function exportOnce() {
  const started = performance.now();
  const requested = await app.get(RequestExportUseCase).execute(caller, subjectRef, {});
  let view;
  for (;;) {
    view = await app.get(GetExportUseCase).execute(caller, subjectRef, requested.exportId);
    if (view.state === 'READY') break;
    if (view.state === 'FAILED') throw new Error(`export failed: ${view.error}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const ms = performance.now() - started;
  const response = await fetch(view.download.url);
  const archive = Buffer.from(await response.arrayBuffer());
  const tar = openArchive(archive, Buffer.from(view.download.archiveKey, 'base64'), view.exportId);
  return { ms, summary: view.summary, archiveBytes: archive.length, tarBytes: tar.length };
}

const expectedReadings = subjectRecords.length * 48;
const exportSeconds = [];
const bareSeconds = [];
const ratios = [];
const byteRatios = [];
try {
  for (let run = 0; run < runs; run++) {
    fetchedBytes.bare = fetchedBytes.export = 0;
    const b = await bare();
    if (b.readings !== expectedReadings) throw new Error(`bare opened ${b.readings} of ${expectedReadings}`);
    const e = await exportOnce();
    const { recordsOwn, recordsFetched, readings } = e.summary;
    if (readings !== expectedReadings)
      throw new Error(`export holds ${readings} of ${expectedReadings} readings`);
    exportSeconds.push(e.ms / 1000);
    bareSeconds.push(b.ms / 1000);
    ratios.push(recordsFetched / recordsOwn);
    byteRatios.push(fetchedBytes.export / ownBytes);
    console.log(
      `run ${run + 1}/${runs}: export READY in ${(e.ms / 1000).toFixed(2)} s (${readings} readings, ` +
        `${recordsFetched} records fetched for ${recordsOwn} own: ${(recordsFetched / recordsOwn).toFixed(2)}×, ` +
        `${(fetchedBytes.export / 1e6).toFixed(1)} MB fetched for ${(ownBytes / 1e6).toFixed(1)} MB own: ` +
        `${(fetchedBytes.export / ownBytes).toFixed(1)}×, archive ${(e.archiveBytes / 1e6).toFixed(2)} MB); ` +
        `bare seek+open ${(b.ms / 1000).toFixed(2)} s (${b.fetched} records handed over, ` +
        `${(fetchedBytes.bare / 1e6).toFixed(1)} MB fetched)`,
    );
  }
} finally {
  await service.stop();
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
  await db.destroy();
  rmSync(work, { recursive: true, force: true });
}
const q = (xs) =>
  `p50 ${quantile(xs, 0.5).toFixed(2)} s, p95 ${quantile(xs, 0.95).toFixed(2)} s, max ${Math.max(...xs).toFixed(2)} s`;
console.log(`export: ${q(exportSeconds)}; bare: ${q(bareSeconds)}`);
console.log(
  `read cost: records fetched/own max ${Math.max(...ratios).toFixed(2)}; bytes fetched/own ciphertext ` +
    `max ${Math.max(...byteRatios).toFixed(1)}`,
);
console.log(
  `exports: ${quantile(exportSeconds, 0.95).toFixed(2)} s; ratio ${Math.max(...ratios).toFixed(2)} vs ` +
    `bare seek+open ${quantile(bareSeconds, 0.95).toFixed(2)} s`,
);
process.exit(0);
