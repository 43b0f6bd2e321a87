import { Partitioners } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { TransactionalProducer, contractRecord, ensureTopics } from '../src';
import {
  meterContract,
  meterReading,
  randomLetters,
  readTopic,
  testKafka,
  testLogger,
  uniqueGroupId,
} from './kafka-test-kit';

describe('TransactionalProducer', () => {
  const kafka = testKafka();
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** A connected producer, disconnected after the test. */
  async function connectedProducer(
    transactionalId = `it-${randomLetters(8)}`,
    transactionTimeoutMs?: number,
  ) {
    const producer = new TransactionalProducer({
      kafka,
      transactionalId,
      logger: testLogger,
      ...(transactionTimeoutMs !== undefined && { transactionTimeoutMs }),
    });
    await producer.connect();
    cleanup.push(() => producer.disconnect());
    return producer;
  }

  it('commits concurrent writes in shared transactions, each resolved once its records are visible', async () => {
    const contract = meterContract('tx-many', 3);
    await ensureTopics(kafka, [contract]);
    const producer = await connectedProducer();

    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        producer.write([
          contractRecord(contract, meterReading(2 * i)),
          contractRecord(contract, meterReading(2 * i + 1)),
        ]),
      ),
    );
    const records = await readTopic(kafka, contract.name, 80);
    const seqs = records
      .map((r) => (JSON.parse(r.value ?? '{}') as { seq: number }).seq)
      .sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 80 }, (_, i) => i));
  });

  it('a restarted producer with the same id aborts what a dead predecessor left uncommitted', async () => {
    const contract = meterContract('tx-fence', 1);
    await ensureTopics(kafka, [contract]);
    const transactionalId = `it-${randomLetters(8)}`;

    // The predecessor: sends inside a transaction, then "dies" without committing.
    const dead = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await dead.connect();
    const open = await dead.transaction();
    await open.send({
      topic: contract.name,
      acks: -1,
      messages: [{ key: 'ghost', value: JSON.stringify(meterReading(999)) }],
    });

    const successor = await connectedProducer(transactionalId);
    await successor.write([contractRecord(contract, meterReading(1))]);
    await expect(open.commit()).rejects.toThrow(); // fenced

    // A read-committed reader sees the successor's record only (the ghost offset is aborted).
    const consumer = kafka.consumer({ groupId: uniqueGroupId('tx-reader'), maxWaitTimeInMs: 200 });
    await consumer.connect();
    cleanup.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: contract.name, fromBeginning: true });
    const seen: number[] = [];
    await consumer.run({
      eachMessage: ({ message }) => {
        seen.push((JSON.parse(message.value?.toString() ?? '{}') as { seq: number }).seq);
        return Promise.resolve();
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(seen).toEqual([1]);
    await dead.disconnect().catch(() => undefined);
  });

  it('refuses unsent a write whose deadline passed before its transaction began', async () => {
    const contract = meterContract('tx-late', 1);
    await ensureTopics(kafka, [contract]);
    const producer = await connectedProducer();
    await expect(
      producer.write([contractRecord(contract, meterReading(1))], { notAfterMs: Date.now() - 1 }),
    ).rejects.toThrow(/waited too long/);
    await producer.write([contractRecord(contract, meterReading(2))], { notAfterMs: Date.now() + 60_000 });
    const records = await readTopic(kafka, contract.name, 1);
    expect(records.map((r) => (JSON.parse(r.value ?? '{}') as { seq: number }).seq)).toEqual([2]);
  });

  it('spreads a transaction larger than one request over several, committed once', async () => {
    const contract = meterContract('tx-large', 3);
    await ensureTopics(kafka, [contract]);
    // 3 MB into partitions just created took over the 10 s default transaction timeout on a loaded
    // CI machine (the broker expired it: "old epoch"); what is tested here is the split, not the speed.
    const producer = await connectedProducer(undefined, 60_000);
    // 30 records of ~100 KB: about 3 MB, four requests of at most 768 KB.
    const records = Array.from({ length: 30 }, (_, i) => {
      const record = contractRecord(contract, meterReading(i));
      return { ...record, key: record.key.padEnd(100_000, '.') };
    });
    await producer.write(records);
    expect(await readTopic(kafka, contract.name, 30)).toHaveLength(30);
  });
});
