import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics, readKeyedRecords } from '../src';
import { meterContract, meterReading, testKafka, waitUntil } from './kafka-test-kit';

// readKeyedRecords reads a key's partition to the end it had when called. A transactional producer
// (the telemetry ingest's) leaves a commit marker at that end, which no consumer is handed: the read
// must still know it got there (the re-seal job refuses a partial read and would fail for ever).
describe('readKeyedRecords over a transactionally written partition', () => {
  const kafka = testKafka();
  const contract = meterContract('keyed-tx', 1);
  const producer = kafka.producer({
    transactionalId: `keyed-records-it-${randomUUID()}`,
    idempotent: true,
    maxInFlightRequests: 1,
  });

  beforeAll(async () => {
    await ensureTopics(kafka, [contract]);
    await producer.connect();
  });
  afterAll(() => producer.disconnect());

  it('reads every record of the key and reports the read complete though a commit marker ends the partition', async () => {
    const transaction = await producer.transaction();
    await transaction.send({
      topic: contract.name,
      messages: [1, 2, 3].map((seq) => {
        const event = meterReading(seq, 'meter-tx');
        return { key: contract.key(event), value: JSON.stringify(event) };
      }),
    });
    await transaction.commit();
    // The commit answers once the coordinator logged it; the markers reach the partition after that, and
    // until then its committed end (what a read_committed offset lookup answers) excludes the records.
    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitUntil(async () => Number((await admin.fetchTopicOffsets(contract.name))[0]!.high) >= 4, {
        timeoutMs: 30_000,
        description: 'the commit marker on the partition',
      });
    } finally {
      await admin.disconnect();
    }

    const seen: number[] = [];
    const report = await readKeyedRecords(
      kafka,
      contract.name,
      'tenant-a/meter-tx',
      ({ value }) => seen.push((JSON.parse(value!.toString('utf8')) as { seq: number }).seq),
      { timeoutMs: 30_000 },
    );
    expect(seen).toEqual([1, 2, 3]);
    // Three records and the marker: the end lies one past the last record.
    expect(report.lastOffset).toBe(3);
    expect(report.complete).toBe(true);
  });
});
