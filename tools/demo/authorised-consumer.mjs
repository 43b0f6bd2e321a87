// An authorised consumer downstream of the ingest: it reads sealed readings from Kafka, where no
// reading is in the clear, fetches each record's data key from privacy's internal listener (mutual
// TLS with its own platform certificate; privacy grants it the demo's tenant) and opens the record.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { workspaceRoot } from '../swc-options.mjs';
import { DemoError, say } from './run.mjs';

const require = createRequire(import.meta.url);
const TOPIC = 'telemetry.readings.v1';

// kafkajs 2.2.4 schedules a timer with a negative delay (harmless: Node clamps it to 1 ms); Node warns
// about it on the terminal. Other warnings still show.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'TimeoutNegativeWarning') console.error(`${warning.name}: ${warning.message}`);
});

// The platform's own Kafka client (libs/kafka), loaded from dist/ once the demo has built it.
// `connection`: the brokers, and TLS and SASL options as kafkaSecurity (libs/config) reads them.
export const kafkaOf = (connection) => {
  const { createKafkaClient, KafkaLogLevel } = require(join(workspaceRoot, 'dist/libs/kafka/src/index.js'));
  return createKafkaClient({
    clientId: 'meterkeep-demo',
    ...connection,
    logLevel: KafkaLogLevel.NOTHING,
  });
};

/** Where each partition of `topic` ends now: what the demo writes later lies beyond. */
export async function topicEnds(connection, topic) {
  const admin = kafkaOf(connection).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map(({ partition, high }) => [partition, high]));
  } finally {
    await admin.disconnect();
  }
}

export const readingsTopicEnds = (connection) => topicEnds(connection, TOPIC);

/**
 * Reads one tenant's records of `topic` (record key `<tenantId>/…`) in a throw-away group, read
 * committed, from `since` (where the partitions ended before this run wrote), until `enough(records)`
 * or the timeout.
 */
export async function readTenantTopic({ connection, topic, tenantId, since, enough, timeoutMs = 30_000 }) {
  const kafka = kafkaOf(connection);
  const groupId = `demo-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  const records = [];
  let done;
  const satisfied = new Promise((resolve) => (done = resolve));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (enough(records) || !message.key?.toString().startsWith(`${tenantId}/`)) return;
        records.push({ partition, offset: message.offset, value: message.value });
        if (enough(records)) done();
      },
    });
    // Older runs' records stay on the topic for its retention: skip them rather than read them all.
    for (const [partition, offset] of since) consumer.seek({ topic, partition, offset });
    let timer;
    await Promise.race([satisfied, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  } finally {
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  return records;
}

/** One GET over mutual TLS as `identity` (SERVICE_TLS_CERT_FILE and the like): status and JSON body. */
function getAs(url, identity) {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        cert: readFileSync(identity.SERVICE_TLS_CERT_FILE),
        key: readFileSync(identity.SERVICE_TLS_KEY_FILE),
        ca: readFileSync(identity.PLATFORM_CA_FILE),
        agent: false,
      },
      (incoming) => {
        const chunks = [];
        incoming.on('data', (chunk) => chunks.push(chunk));
        incoming.on('end', () => {
          let body;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = undefined;
          }
          resolve({ status: incoming.statusCode, body });
        });
      },
    );
    outgoing.once('error', reject);
    outgoing.end();
  });
}

/** One data key, over privacy's internal route DATA_KEY_GET, its answer checked by the contract. */
export async function dataKey({ privacyUrl, identity, tenantId, keyId }) {
  const { DATA_KEY_GET } = require(join(workspaceRoot, 'dist/libs/contracts/src/index.js'));
  const { status, body } = await getAs(
    new URL(DATA_KEY_GET.pathFor({ tenantId, keyId }), privacyUrl),
    identity,
  );
  if (status !== 200)
    throw new DemoError(`privacy answered ${status} for data key ${keyId}: ${body?.code} ${body?.message}`);
  const answer = DATA_KEY_GET.responses[200].safeParse(body);
  if (!answer.success) throw new DemoError(`privacy's answer for data key ${keyId} breaks its contract`);
  return Buffer.from(answer.data.key, 'base64');
}

const quantity = ({ value, scaler, unit }) =>
  `${(value * 10 ** scaler).toFixed(Math.max(0, -scaler))} ${unit}`;

/**
 * Reads a few of the tenant's sealed records, shows there is no reading in the clear in them, opens
 * them with their data keys, and prints some readings of one meter. Fails when none could be opened.
 */
export async function decryptSample({
  kafka,
  tenantId,
  since,
  privacyUrl,
  identity,
  occupancies,
  sample = 5,
}) {
  const { openReadings } = require(join(workspaceRoot, 'dist/libs/reading-seal/src/index.js'));
  say(
    `consumer: reading ${sample} ${TOPIC} records of ${tenantId} from Kafka (a throw-away group, read committed)`,
  );
  const started = performance.now();
  const records = await readTenantTopic({
    connection: kafka,
    topic: TOPIC,
    tenantId,
    since,
    enough: (seen) => seen.length >= sample,
  });
  if (records.length === 0) throw new DemoError(`no ${TOPIC} records of ${tenantId} arrived within 30 s`);

  const opened = [];
  for (const { partition, offset, value } of records) {
    const raw = value.toString('utf8');
    const event = JSON.parse(raw);
    const key = await dataKey({ privacyUrl, identity, tenantId, keyId: event.keyId });
    let sealed;
    try {
      sealed = openReadings(event, key);
    } catch (error) {
      throw new DemoError(`record ${partition}/${offset} of ${event.meterId} did not open: ${error.message}`);
    }
    const codes = [...new Set(sealed.readings.map((reading) => reading.obis))];
    const inClear = codes.filter((code) => raw.includes(code));
    if (inClear.length > 0) throw new DemoError(`the raw record holds ${inClear.join(', ')} in the clear`);
    const whose =
      occupancies.get(event.meterId)?.keyId === event.keyId ? "its occupancy's" : "the meter's own";
    say(
      `consumer:   ${event.meterId} @${partition}/${offset}: ${value.length}-byte record, ` +
        `${Buffer.from(event.ciphertext, 'base64').length}-byte ciphertext, no OBIS code in it; ` +
        `key ${event.keyId} (${whose}) opens ${sealed.readings.length} readings, ${sealed.events.length} events`,
    );
    opened.push({ event, sealed });
  }

  const [{ event, sealed }] = opened;
  console.log('');
  console.log(`readings of ${event.meterId}, opened (${sealed.readings.length} in this record)`);
  console.log(`${'time (UTC)'.padEnd(22)}${'OBIS'.padEnd(17)}${'kind'.padEnd(11)}value`);
  for (const reading of sealed.readings.slice(0, 5))
    console.log(
      `${reading.intervalStart.padEnd(22)}${reading.obis.padEnd(17)}${(reading.intervalMinutes === 0 ? 'register' : `${reading.intervalMinutes} min`).padEnd(11)}${quantity(reading)}${reading.quality ? ` (${reading.quality.join(', ')})` : ''}`,
    );
  for (const meterEvent of sealed.events.slice(0, 2))
    console.log(
      `${meterEvent.occurredAt.padEnd(22)}${'event'.padEnd(17)}${meterEvent.severity.padEnd(11)}${meterEvent.code}`,
    );
  console.log('');

  const readings = opened.reduce((n, { sealed: s }) => n + s.readings.length, 0);
  const events = opened.reduce((n, { sealed: s }) => n + s.events.length, 0);
  const underOccupancy = opened.filter(
    ({ event: e }) => occupancies.get(e.meterId)?.keyId === e.keyId,
  ).length;
  say(
    `consumer: opened ${opened.length} records with their data keys: ${readings} readings and ${events} events ` +
      `(${underOccupancy}/${opened.length} sealed under the meter's occupancy key) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  if (readings + events === 0) throw new DemoError('nothing could be opened');
  return { records: opened.length, readings, events };
}
