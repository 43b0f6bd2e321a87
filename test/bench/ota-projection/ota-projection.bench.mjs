// The OTA distributor's device projection catching up on enrollment.devices.v1: events applied per
// second by the batch path (EventConsumer.subscribeBatch, one transaction per slice) beside the old
// per-record path (EventConsumer.subscribe, one transaction per event), the same use case and
// repository (dist/) on the local stack's Kafka and PostgreSQL, in the same run.
//
//   node_modules/.bin/node test/bench/ota-projection/ota-projection.bench.mjs [--events 50000]
//     [--devices 5000] [--baseline-events 10000] [--runs 3] [--max-batch 500]
//
// Each run consumes a topic of the bench's own (the contract's schema, 6 partitions) from the start
// in a new group and a new schema; the clock starts at the first event handled (a group's join is not
// the projection's cost). The per-record path is timed over its first --baseline-events events (at a
// few hundred a second, 50,000 would take minutes); the rate is what is compared.
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);
const dist = (path) => require(join(root, 'dist', path));
const testing = dist('libs/testing/src/index.js');
const { kafkaSecurity } = dist('libs/config/src/index.js');
const { ENROLLMENT_DEVICES } = dist('libs/contracts/src/index.js');
const { EventConsumer, EventProducer, createKafkaClient, ensureTopics } = dist('libs/kafka/src/index.js');
const { createDatabase, runMigrations } = dist('libs/db/src/index.js');
const { createLogger } = dist('libs/observability/src/index.js');
const { Transactions, OutboxRepository } = dist('libs/outbox/src/index.js');
const { migrations } = dist('apps/ota-distributor/src/migrations/index.js');
const { DevicesRepository } = dist('apps/ota-distributor/src/devices/devices.repository.js');
const { ExecutionsRepository } = dist('apps/ota-distributor/src/executions/executions.repository.js');
const { ApplyDeviceStateUseCase } = dist('apps/ota-distributor/src/devices/apply-device-state.use-case.js');
const { sql } = require('kysely');

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '50000' },
    devices: { type: 'string', default: '5000' },
    'baseline-events': { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    'max-batch': { type: 'string', default: '500' },
  },
});
const events = Number(values.events);
const devices = Number(values.devices);
const baselineEvents = Math.min(events, Number(values['baseline-events']));
const runs = Number(values.runs);
const maxBatchRecords = Number(values['max-batch']);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const tag = randomBytes(4).toString('hex');

const up = spawnSync('bash', [join(root, 'deploy/local/stack.sh'), 'up'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (up.status !== 0) process.exit(1);
const stack = testing.stackEnvFrom(testing.parseEnvExports(await testing.localStack('env')));
const logger = createLogger({ service: 'bench-ota-projection', level: 'error' });
const kafka = createKafkaClient({
  clientId: `bench-ota-projection-${tag}`,
  brokers: stack.KAFKA_BROKERS.split(','),
  // The stack's admin (TLS, SCRAM) where the stack authenticates.
  ...kafkaSecurity(testing.principalEnv('admin', stack)),
  logger,
});
const contract = { ...ENROLLMENT_DEVICES, name: `bench.ota-projection-${tag}.v1` };
await ensureTopics(kafka, [contract], { deadLetter: true });

// Produced once: `devices` devices, their events round robin (a slice holds many devices), the last
// of each device its newest.
const t0 = Date.now() - 86_400_000;
const perDevice = Math.ceil(events / devices);
const STATES = ['ENROLLED', 'ACTIVE', 'SUSPENDED'];
const producer = new EventProducer({ kafka, logger, contracts: [contract] });
await producer.connect();
const produceStart = performance.now();
for (let start = 0; start < events; start += 2_000) {
  const chunk = [];
  for (let i = start; i < Math.min(start + 2_000, events); i++) {
    const device = i % devices;
    const step = Math.floor(i / devices);
    chunk.push({
      eventId: globalThis.crypto.randomUUID(),
      tenantId: `bench-${tag}`,
      occurredAt: new Date(t0 + step * 60_000).toISOString(),
      deviceId: `MTR-${String(device).padStart(6, '0')}`,
      status: STATES[(device + step) % STATES.length],
      credential: { kind: 'certificate', fingerprintSha256: 'c'.repeat(64) },
      model: 'em300',
      classId: `em300-${step % 4}`,
    });
  }
  await producer.publishMany(contract, chunk);
}
await producer.disconnect();
console.log(
  `produced ${events} events of ${devices} devices (${perDevice} each) in ${Math.round(performance.now() - produceStart)} ms`,
);

/** Consumes the topic from the start in a new group into a new schema until `target` events were applied. */
async function measure(mode, target) {
  const schema = `bench_ota_${tag}_${mode.replace('-', '_')}_${randomBytes(2).toString('hex')}`;
  const db = createDatabase({ url: stack.DATABASE_URL, schema, pool: { max: 4 } });
  await runMigrations(db, { schema, migrations });
  const outbox = new OutboxRepository();
  const useCase = new ApplyDeviceStateUseCase(
    new DevicesRepository(db),
    new ExecutionsRepository(db),
    outbox,
    new Transactions(db, { nudge: () => {} }),
  );
  let applied = 0;
  let first;
  let resolveDone;
  const done = new Promise((resolve) => (resolveDone = resolve));
  const count = (n) => {
    applied += n;
    if (applied >= target) resolveDone(performance.now());
  };
  const consumer = new EventConsumer({
    kafka,
    groupId: `bench-ota-projection-${tag}-${mode}-${randomBytes(2).toString('hex')}`,
    logger,
    maxWaitTimeInMs: 200,
    maxBatchRecords,
  });
  if (mode === 'batch')
    consumer.subscribeBatch(contract, async (records) => {
      first ??= performance.now();
      await useCase.fromEnrollment(records.map((record) => record.event));
      count(records.length);
    });
  else
    consumer.subscribe(contract, async (event) => {
      first ??= performance.now();
      await useCase.fromEnrollment([event]);
      count(1);
    });
  await consumer.start();
  const end = await done;
  await consumer.stop();
  const { rows } = await sql`select count(*)::int as n from devices`.execute(db);
  await sql`drop schema ${sql.id(schema)} cascade`.execute(db);
  await db.destroy();
  const rate = applied / ((end - first) / 1000);
  console.log(
    `  ${mode.padEnd(10)} ${String(applied).padStart(6)} events in ${Math.round(end - first)} ms: ` +
      `${Math.round(rate)} events/s (${rows[0].n} devices projected)`,
  );
  return rate;
}

const batchRates = [];
const baselineRates = [];
try {
  for (let run = 1; run <= runs; run++) {
    console.log(`run ${run}/${runs}`);
    baselineRates.push(await measure('per-record', baselineEvents));
    batchRates.push(await measure('batch', events));
  }
} finally {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [contract.name, `${contract.name}.dlq`] }).catch(() => undefined);
  await admin.disconnect();
}

const batch = median(batchRates);
const baseline = median(baselineRates);
console.log(
  `per-record path: median ${Math.round(baseline)} events/s; ${events} events at that rate take ${Math.round(events / baseline)} s, ` +
    `at the batch rate ${(events / batch).toFixed(1)} s`,
);
console.log(
  `ota-projection: ${Math.round(batch)} events/s; ratio ${(batch / baseline).toFixed(2)} vs per-record path`,
);
