// Privacy's release gate: the projector staging opened readings (readings/s through the real consumer
// class and StageReadingsUseCase into PostgreSQL: vault look-up, decryption, filter, insert and the
// release schedule's mark) beside a bare consume-and-decrypt loop over the same topic data in the same
// run; then the time of a gate pass over the occupancies once they are quiet, beside a pass that plans
// every one of them (what each pass did before the release schedule, issue #14).
//
//   node_modules/.bin/node test/bench/release/release.bench.mjs [--occupancies 200] [--days 3]
//     [--runs 3] [--concurrency 4] [--unmarked] [--rate 71373] [--lag-seconds 15] [--lag-only]
//
// Privacy runs in-process from dist/ (its Nest application, no HTTP traffic, the gate's timer off) in a
// schema of its own. Each run produces `--days` new days of each occupancy's half-hourly readings (one
// sealed record of 48 readings per occupancy and day, as the ingest writes a day's batch) to a topic of
// the bench's own with telemetry.readings.v1's schema (6 partitions), then consumes it from the run's
// first offset: the bare loop first (kafkajs eachBatch, JSON.parse, openReadings under keys opened
// once), then the projector (EventConsumer with the gate's partitionsConsumedConcurrently, calling
// ReadingsConsumer.onReadings as the gate's transport does: a slice of a partition's batch at a time
// when the handler is a batch handler, else one record with its context). Each clock starts at the
// first record handled.
//
// Then the projector's lag (issue #14: "keeps up with the ingest bench, lag p99 < 5 s"): records
// produced at `--rate` readings/s (default: the ingest bench's 71,373/s with two workers, test/bench/
// README.md) for `--lag-seconds`, sealed beforehand, each on later days of the same occupancies, while
// the projector consumes them from the end of the topic; a record's lag is from its Kafka timestamp
// (set by the producer as it sends) to the moment the handler that staged it resolved (its transaction
// committed).
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const root = join(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);
const dist = (path) => require(join(root, 'dist', path));
const testing = dist('libs/testing/src/index.js');
const { kafkaSecurity } = dist('libs/config/src/index.js');
const { TELEMETRY_READINGS, ALL_TOPICS } = dist('libs/contracts/src/index.js');
const { EventConsumer, EventProducer, createKafkaClient, ensureTopics } = dist('libs/kafka/src/index.js');
const { KafkaBatchContext, KafkaEventContext } = dist('libs/kafka/src/nest/index.js');
const { createLogger } = dist('libs/observability/src/index.js');
const { startService } = dist('libs/service-runtime/src/index.js');
const { sealReadings, openReadings, readingEventId } = dist('libs/reading-seal/src/index.js');
const { createDatabase } = dist('libs/db/src/index.js');
const { AppModule } = dist('apps/privacy/src/app.module.js');
const { PrivacyConfig } = dist('apps/privacy/src/config.js');
const { DataKeyVault } = dist('apps/privacy/src/data-keys/data-key-vault.js');
const { OpenOccupancyUseCase } = dist('apps/privacy/src/occupancies/open-occupancy.use-case.js');
const { ReadingsConsumer } = dist('apps/privacy/src/release/readings.consumer.js');
const { ReleaseWindowsUseCase } = dist('apps/privacy/src/release/release-windows.use-case.js');
const { ReleaseRepository } = dist('apps/privacy/src/release/release.repository.js');
const { ReadingRangesRepository } = dist('apps/privacy/src/exports/reading-ranges.repository.js');
const { sql } = require('kysely');

const { values } = parseArgs({
  options: {
    occupancies: { type: 'string', default: '200' },
    days: { type: 'string', default: '3' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '4' },
    // Also stage other days per run with the insert as it was before the release schedule (no mark).
    unmarked: { type: 'boolean', default: false },
    // Only the lag phase (no throughput runs, no gate passes).
    'lag-only': { type: 'boolean', default: false },
    // Offered load for the lag phase, readings/s: the ingest bench's figure with two workers.
    rate: { type: 'string', default: '71373' },
    'lag-seconds': { type: 'string', default: '15' },
  },
});
const occupancies = Number(values.occupancies);
const days = Number(values.days);
const runs = Number(values.runs);
const concurrency = Number(values.concurrency);
const rate = Number(values.rate);
const lagSeconds = Number(values['lag-seconds']);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
const tag = randomBytes(4).toString('hex');
const DAY = 86_400_000;
const HALF_HOUR = 1_800_000;

const up = spawnSync('bash', [join(root, 'deploy/local/stack.sh'), 'up'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (up.status !== 0) process.exit(1);
const stack = testing.stackEnvFrom(testing.parseEnvExports(await testing.localStack('env')));
// What the test kit's helpers read (the stack's endpoints and the services' credentials).
Object.assign(process.env, stack);
const endpoints = testing.stackEndpoints();
const logger = createLogger({ service: 'bench-release', level: 'error' });
const principal = testing.principalEnv('admin', stack);
const kafka = createKafkaClient({
  clientId: `bench-release-${tag}`,
  brokers: stack.KAFKA_BROKERS.split(','),
  ...kafkaSecurity(principal),
  logger,
});
const contract = { ...TELEMETRY_READINGS, name: `bench.release-${tag}.v1`, partitions: 6 };
await ensureTopics(kafka, [...ALL_TOPICS, contract], { deadLetter: true });

const schema = `bench_release_${tag}`;
const config = PrivacyConfig.parse({
  ...testing.serviceStackEnv('privacy'),
  KAFKA_CLIENT_ID: `bench-release-${tag}`,
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
  // Never called: the bench makes no operator request.
  ENROLLMENT_INTERNAL_URL: 'https://127.0.0.1:9',
  PRIVACY_DATA_KEY_GRANTS: '{}',
  PRIVACY_RELEASE_INTERVAL_MS: '0',
  PRIVACY_RELEASE_LOOKBACK_DAYS: '120',
  // No wait for late readings: the first pass releases the closed months of what was staged.
  PRIVACY_RELEASE_GRACE_S: '0',
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
const db = createDatabase({ url: endpoints.databaseUrl, schema, pool: { max: 2 } });

// The occupancies (from 100 days ago, pre-2019 contracts) and their data keys, opened once for the bare loop.
const tenantId = `bench-${tag}`;
const caller = { tenantId, keyId: 'bench', role: 'admin', actor: 'key_bench' };
const from = Math.floor(Date.now() / DAY) * DAY - 100 * DAY;
const meters = [];
const setupStart = performance.now();
for (let n = 0; n < occupancies; n++) {
  const meterId = `MTR-RB-${tag}-${n}`;
  const opened = await app.get(OpenOccupancyUseCase).execute(caller, {
    meterId,
    subjectRef: `hh-${tag}-${n}`,
    from: new Date(from),
    consumerClass: 'domestic',
    contractDate: new Date('2018-01-01'),
  });
  const row = await db
    .selectFrom('data_keys')
    .selectAll()
    .where('occupancy_id', '=', opened.occupancyId)
    .executeTakeFirstOrThrow();
  meters.push({
    meterId,
    occupancyId: opened.occupancyId,
    keyId: row.key_id,
    key: await app.get(DataKeyVault).open(row),
  });
}
const keys = new Map(meters.map((m) => [m.keyId, m.key]));
console.log(`${occupancies} occupancies opened in ${Math.round(performance.now() - setupStart)} ms`);

const producer = new EventProducer({ kafka, logger, contracts: [contract] });
await producer.connect();
const admin = kafka.admin();
await admin.connect();

/** The meter's day `d` (from `from`): one sealed record of 48 half-hourly readings. */
function sealedDay(m, d) {
  const start = from + d * DAY;
  const batchId = `b-${tag}-${d}`;
  const context = {
    eventId: readingEventId(tenantId, m.meterId, batchId, m.keyId),
    tenantId,
    meterId: m.meterId,
  };
  const payload = {
    batchId,
    readings: Array.from({ length: 48 }, (_, i) => ({
      obis: '1-0:1.8.0*255',
      intervalStart: new Date(start + i * HALF_HOUR).toISOString().replace('.000Z', 'Z'),
      intervalMinutes: 30,
      value: 100 + i,
      scaler: 0,
      unit: 'Wh',
    })),
    events: [],
  };
  return {
    ...context,
    occurredAt: new Date().toISOString(),
    ...sealReadings(payload, { keyId: m.keyId, key: m.key }, context),
  };
}

/** Each occupancy's days [firstDay, firstDay + days). */
async function produce(firstDay) {
  for (let d = firstDay; d < firstDay + days; d++)
    await producer.publishMany(
      contract,
      meters.map((m) => sealedDay(m, d)),
    );
}

const offsets = async () =>
  (await admin.fetchTopicOffsets(contract.name)).map((p) => ({ partition: p.partition, offset: p.offset }));

/** Resolves when `target` is reached; the clock runs from the first record handled. */
function clock(target) {
  let first;
  let handled = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  return {
    done,
    tick(n) {
      first ??= performance.now();
      handled += n;
      if (handled >= target) resolve(performance.now() - first);
    },
  };
}

/** The bare loop: kafkajs, JSON.parse, openReadings; no validation, no database. */
async function bare(startOffsets, records) {
  const consumer = kafka.consumer({ groupId: `bench-release-bare-${tag}-${randomBytes(2).toString('hex')}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [contract.name], fromBeginning: true });
  const c = clock(records);
  let readings = 0;
  const run = consumer.run({
    partitionsConsumedConcurrently: concurrency,
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        const event = JSON.parse(message.value.toString());
        readings += openReadings(event, keys.get(event.keyId)).readings.length;
        c.tick(1);
      }
    },
  });
  for (const { partition, offset } of startOffsets)
    consumer.seek({ topic: contract.name, partition, offset });
  await run;
  const ms = await c.done;
  await consumer.disconnect();
  return { ms, readings };
}

/**
 * Where the handler's time goes (lag phase): wall time inside the repositories' methods, summed over
 * the concurrent lanes; the rest of the handler is opening, filtering and building rows.
 */
const spent = { lookups: 0, index: 0, insert: 0, handler: 0 };
function timeMethods(prototype, names, bucket) {
  for (const name of names) {
    const original = prototype[name];
    if (typeof original !== 'function') continue;
    prototype[name] = async function (...args) {
      const t = performance.now();
      try {
        return await original.apply(this, args);
      } finally {
        spent[bucket] += performance.now() - t;
      }
    };
  }
}
timeMethods(
  ReleaseRepository.prototype,
  ['findDataKey', 'findOccupancy', 'findDataKeys', 'findOccupancies'],
  'lookups',
);
timeMethods(ReadingRangesRepository.prototype, ['add', 'addAll'], 'index');

const originalStage = ReleaseRepository.prototype.stage;
async function markedStage(...args) {
  const t = performance.now();
  try {
    return await originalStage.apply(this, args);
  } finally {
    spent.insert += performance.now() - t;
  }
}
/**
 * ReleaseRepository.stage as it was before the release schedule: the insert alone (a VALUES list: keep
 * --days × 48 readings a slice under PostgreSQL's bind parameter limit). stage(readings, graceS) before
 * issue #14's batching, stage(executor, readings, graceS) since.
 */
async function unmarkedStage(...args) {
  const [executor, readings] = args.length === 3 ? args : [this.database, args[0]];
  if (readings.length === 0) return;
  await executor
    .insertInto('release_readings')
    .values(
      readings.map((r) => ({
        tenant_id: r.tenantId,
        occupancy_id: r.occupancyId,
        obis: r.obis,
        unit: r.unit,
        interval_start: new Date(r.intervalStart),
        interval_minutes: r.intervalMinutes,
        quantity: r.quantity,
      })),
    )
    .onConflict((oc) => oc.doNothing())
    .execute();
}

// What the gate's transport does with ReadingsConsumer.onReadings: a batch handler (@KafkaEventPattern
// with { batch: true }) gets a slice's events and a KafkaBatchContext, a per-record one an event and a
// KafkaEventContext.
const batchHandler =
  Reflect.getMetadata('microservices:pattern_extras', ReadingsConsumer.prototype.onReadings)?.batch === true;
console.log(`ReadingsConsumer.onReadings is a ${batchHandler ? 'batch' : 'per-record'} handler`);

/** Subscribes the gate's handler; `done(metas)` is called once the records' handler resolved. */
function subscribeGate(consumer, done) {
  const handler = app.get(ReadingsConsumer);
  if (batchHandler)
    return consumer.subscribeBatch(contract, async (records) => {
      done([]);
      const metas = records.map((r) => r.meta);
      const t = performance.now();
      await handler.onReadings(
        records.map((r) => r.event),
        new KafkaBatchContext([metas]),
      );
      spent.handler += performance.now() - t;
      done(metas);
    });
  return consumer.subscribe(contract, async (event, meta) => {
    done([]);
    const t = performance.now();
    await handler.onReadings(event, new KafkaEventContext([meta]));
    spent.handler += performance.now() - t;
    done([meta]);
  });
}

/** The projector: the gate's consumer class and use case, as its transport runs them. */
async function projector(startOffsets, records, { marked = true } = {}) {
  ReleaseRepository.prototype.stage = marked ? markedStage : unmarkedStage;
  const consumer = new EventConsumer({
    kafka,
    groupId: `bench-release-projector-${tag}-${randomBytes(2).toString('hex')}`,
    logger,
    maxWaitTimeInMs: 200,
    partitionsConsumedConcurrently: concurrency,
  });
  // Starts at this run's first offsets: the group commits them before the consumer joins.
  await admin.setOffsets({
    groupId: consumer.options.groupId,
    topic: contract.name,
    partitions: startOffsets,
  });
  const c = clock(records);
  subscribeGate(consumer, (metas) => c.tick(metas.length));
  await consumer.start();
  const ms = await c.done;
  await consumer.stop();
  return { ms };
}

/**
 * The projector under the ingest's rate: `rate` readings/s offered for `lagSeconds` (records sealed
 * beforehand, later days of the same occupancies from `firstDay`), consumed from the topic's end.
 */
async function lagUnderLoad(firstDay) {
  const recordsPerSecond = rate / 48;
  const total = Math.round(recordsPerSecond * lagSeconds);
  // Sealed and encoded beforehand; produced by a thread of its own (paced-producer.mjs).
  const messages = [];
  for (let i = 0; i < total; i++) {
    const event = sealedDay(meters[i % occupancies], firstDay + Math.floor(i / occupancies));
    messages.push({ key: contract.key(event), value: JSON.stringify(event) });
  }
  const consumer = new EventConsumer({
    kafka,
    groupId: `bench-release-lag-${tag}-${randomBytes(2).toString('hex')}`,
    logger,
    maxWaitTimeInMs: 200,
    partitionsConsumedConcurrently: concurrency,
  });
  await admin.setOffsets({
    groupId: consumer.options.groupId,
    topic: contract.name,
    partitions: await offsets(),
  });
  const lags = [];
  let resolve;
  const caughtUp = new Promise((r) => (resolve = r));
  for (const bucket of Object.keys(spent)) spent[bucket] = 0;
  subscribeGate(consumer, (metas) => {
    const now = Date.now();
    for (const meta of metas) lags.push(now - Number(meta.timestamp));
    if (lags.length >= total) resolve(now);
  });
  await consumer.start();
  const started = Date.now();
  const { producedMs } = await new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./paced-producer.mjs', import.meta.url), {
      workerData: {
        principal,
        brokers: stack.KAFKA_BROKERS,
        tag,
        topic: contract.name,
        messages,
        recordsPerSecond,
      },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const timeout = new Promise((r) => setTimeout(() => r(undefined), 120_000));
  const end = await Promise.race([caughtUp, timeout]);
  await consumer.stop();
  return {
    total,
    handled: lags.length,
    offered: (total * 48) / (producedMs / 1000),
    projected: end === undefined ? undefined : (total * 48) / ((end - started) / 1000),
    drainedMs: end === undefined ? undefined : end - started - producedMs,
    p50: quantile(lags, 0.5),
    p99: quantile(lags, 0.99),
    max: Math.max(...lags),
  };
}

const stagedRows = async () =>
  Number((await sql`select count(*)::int as n from release_readings`.execute(db)).rows[0].n);

/** Gate passes over the staged occupancies: the first, three quiet ones, three planning every occupancy. */
async function gatePasses() {
  const gate = app.get(ReleaseWindowsUseCase);
  const timed = async (label) => {
    const t = performance.now();
    const stats = await gate.execute(new Date());
    const ms = performance.now() - t;
    console.log(
      `  ${label.padEnd(44)} ${String(stats.planned.length).padStart(5)} planned, ${String(stats.released).padStart(5)} released in ${Math.round(ms)} ms`,
    );
    return { ms, stats };
  };
  console.log(`gate passes over ${occupancies} occupancies`);
  await timed('first pass (everything staged is due)');
  const quiet = [];
  for (let i = 0; i < 3; i++) quiet.push((await timed('quiet pass (release schedule)')).ms);
  // What every pass did before the release schedule: plan every occupancy with readings, releasing nothing.
  const every = [];
  for (let i = 0; i < 3; i++) {
    await sql`update release_schedule set due_at = now()`.execute(db);
    every.push((await timed('every occupancy planned (as before #14)')).ms);
  }
  console.log(
    `quiet pass: median ${median(quiet).toFixed(1)} ms beside ${Math.round(median(every))} ms planning every occupancy ` +
      `(${(median(every) / occupancies).toFixed(1)} ms each); ratio ${(median(every) / Math.max(median(quiet), 0.1)).toFixed(0)}`,
  );
}

const projectorRates = [];
const unmarkedRates = [];
const bareRates = [];
try {
  for (let run = 0; run < (values['lag-only'] ? 0 : runs); run++) {
    console.log(`run ${run + 1}/${runs}`);
    const startOffsets = await offsets();
    await produce(run * days);
    const records = occupancies * days;
    const readings = records * 48;
    const b = await bare(startOffsets, records);
    const before = await stagedRows();
    const p = await projector(startOffsets, records);
    const staged = (await stagedRows()) - before;
    bareRates.push(readings / (b.ms / 1000));
    projectorRates.push(readings / (p.ms / 1000));
    console.log(
      `  bare consume+decrypt ${readings} readings in ${Math.round(b.ms)} ms: ${Math.round(readings / (b.ms / 1000))} readings/s`,
    );
    console.log(
      `  projector            ${staged} staged in ${Math.round(p.ms)} ms: ${Math.round(readings / (p.ms / 1000))} readings/s`,
    );
    if (values.unmarked) {
      // Other days, so every reading is new again.
      const unmarkedOffsets = await offsets();
      await produce((runs + run) * days);
      const u = await projector(unmarkedOffsets, records, { marked: false });
      unmarkedRates.push(readings / (u.ms / 1000));
      console.log(
        `  projector, no mark   ${readings} staged in ${Math.round(u.ms)} ms: ${Math.round(readings / (u.ms / 1000))} readings/s (the insert before #14)`,
      );
    }
  }
  ReleaseRepository.prototype.stage = markedStage;
  if (values.unmarked)
    console.log(
      `projector: median ${Math.round(median(projectorRates))} readings/s with the schedule's mark beside ${Math.round(median(unmarkedRates))} without`,
    );

  // Gate passes over the staged occupancies. Every one is due (readings staged): the first pass
  // releases what closed and schedules each one's next plan.
  if (!values['lag-only']) await gatePasses();

  if (lagSeconds > 0) {
    // Days after every run's (and --unmarked's): all readings new.
    const lag = await lagUnderLoad(runs * days * 2);
    console.log(
      `projector lag: ${lag.total * 48} readings offered at ${Math.round(lag.offered)} readings/s (asked ${rate}) for ${lagSeconds} s; ` +
        (lag.projected === undefined
          ? `${lag.handled}/${lag.total} records staged after 120 s more (did not keep up); `
          : `all staged at ${Math.round(lag.projected)} readings/s, the last ${Math.round(lag.drainedMs)} ms after the last produce; `) +
        `lag p50 ${lag.p50} ms, p99 ${lag.p99} ms, max ${lag.max} ms`,
    );
    const perReading = (ms) => ((ms * 1000) / (lag.handled * 48)).toFixed(1);
    console.log(
      `  handler wall time per reading (summed over ${concurrency} lanes): ${perReading(spent.handler)} µs: ` +
        `look-ups ${perReading(spent.lookups)}, index ${perReading(spent.index)}, insert+mark ${perReading(spent.insert)}, ` +
        `the rest (unwrap, open, filter, rows) ${perReading(spent.handler - spent.lookups - spent.index - spent.insert)}`,
    );
  }
} finally {
  await producer.disconnect();
  await admin.deleteTopics({ topics: [contract.name, `${contract.name}.dlq`] }).catch(() => undefined);
  await admin.disconnect();
  await service.stop();
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
  await db.destroy();
}

if (values['lag-only']) process.exit(0);
const projected = median(projectorRates);
const baseline = median(bareRates);
console.log(
  `release-staging: ${Math.round(projected)} readings/s; ratio ${(projected / baseline).toFixed(2)} vs bare consume+decrypt`,
);
process.exit(0);
