// The release bench's offered load (release.bench.mjs, lag phase), on a thread of its own so the
// projector under test does not share its event loop: records prepared beforehand (key and JSON value,
// as EventProducer would send them) produced at `recordsPerSecond`, every 50 ms what is due by then,
// idempotent with acks=all as the ingest produces. Posts { producedMs } when the last send was acknowledged.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

const root = join(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);
const { createKafkaClient } = require(join(root, 'dist/libs/kafka/src/index.js'));
const { createLogger } = require(join(root, 'dist/libs/observability/src/index.js'));
const { kafkaSecurity } = require(join(root, 'dist/libs/config/src/index.js'));

const { principal, brokers, tag, topic, messages, recordsPerSecond } = workerData;
const kafka = createKafkaClient({
  clientId: `bench-release-producer-${tag}`,
  brokers: brokers.split(','),
  ...kafkaSecurity(principal),
  logger: createLogger({ service: 'bench-release-producer', level: 'error' }),
});
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
const CHUNK = 100; // ~500 KB a request: under the broker's message.max.bytes
const started = Date.now();
let sent = 0;
while (sent < messages.length) {
  const due = Math.min(messages.length, Math.floor(((Date.now() - started) / 1000) * recordsPerSecond));
  for (; sent < due; sent = Math.min(due, sent + CHUNK))
    await producer.send({ topic, acks: -1, messages: messages.slice(sent, Math.min(due, sent + CHUNK)) });
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const producedMs = Date.now() - started;
await producer.disconnect();
parentPort.postMessage({ producedMs });
