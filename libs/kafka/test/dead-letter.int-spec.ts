import { DLQ_HEADERS, deadLetterTopicName } from '@meterkeep/contracts';
import { Partitioners } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { EventConsumer, EventProducer, PermanentEventError, ensureTopics } from '../src';
import {
  type MeterReading,
  fastConsumer,
  groupCaughtUp,
  meterContract,
  meterReading,
  readTopic,
  recordCount,
  testKafka,
  testLogger,
  uniqueGroupId,
  waitUntil,
} from './kafka-test-kit';

describe('dead letters', () => {
  const kafka = testKafka();
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function startConsumer(
    groupId: string,
    contract: ReturnType<typeof meterContract>,
    handler: (e: MeterReading) => void,
  ) {
    const consumer = new EventConsumer({ kafka, groupId, logger: testLogger, ...fastConsumer }).subscribe(
      contract,
      handler,
    );
    await consumer.start();
    cleanup.push(() => consumer.stop());
    return consumer;
  }

  it('moves undecodable and schema-violating records to <topic>.dlq with the reason, and keeps consuming', async () => {
    const contract = meterContract('invalid');
    await ensureTopics(kafka, [contract], { deadLetter: true });

    // A producer that skips the contract, as a buggy or foreign client would.
    const raw = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await raw.connect();
    cleanup.push(() => raw.disconnect());
    const valid = meterReading(3);
    await raw.send({
      topic: contract.name,
      messages: [
        { key: 'k-json', value: '{"eventId": oops', headers: { 'x-origin': 'raw' } },
        { key: 'k-schema', value: JSON.stringify({ ...meterReading(2), seq: 'two' }) },
        { key: 'k-valid', value: JSON.stringify(valid) },
      ],
    });

    const handled: MeterReading[] = [];
    const groupId = uniqueGroupId('invalid');
    await startConsumer(groupId, contract, (event) => {
      handled.push(event);
    });
    await waitUntil(() => handled.length === 1, { description: 'the valid event to be handled' });
    expect(handled).toEqual([valid]);

    const dead = await readTopic(kafka, deadLetterTopicName(contract.name), 2);
    expect(dead.map((r) => r.key)).toEqual(['k-json', 'k-schema']);
    const [json, schema] = dead;
    expect(json?.value).toBe('{"eventId": oops');
    expect(json?.headers['x-origin']).toBe('raw');
    expect(json?.headers[DLQ_HEADERS.reason]).toMatch(/^invalid-json: /);
    expect(json?.headers).toMatchObject({
      [DLQ_HEADERS.sourceTopic]: contract.name,
      [DLQ_HEADERS.sourcePartition]: '0',
      [DLQ_HEADERS.sourceOffset]: '0',
    });
    expect(Date.parse(json?.headers[DLQ_HEADERS.failedAt] ?? '')).not.toBeNaN();
    expect(schema?.headers[DLQ_HEADERS.reason]).toMatch(/^contract-violation: seq: /);
    expect(schema?.headers[DLQ_HEADERS.sourceOffset]).toBe('1');
    // All three are committed: the dead-lettered ones are not retried.
    await waitUntil(() => groupCaughtUp(kafka, groupId, contract.name), { description: 'offsets committed' });
  });

  it('dead-letters a PermanentEventError at the first failure, without retrying, and goes on', async () => {
    const contract = meterContract('permanent');
    await ensureTopics(kafka, [contract], { deadLetter: true });
    const producer = new EventProducer({ kafka });
    await producer.connect();
    cleanup.push(() => producer.disconnect());
    const doomed = meterReading(1, 'meter-unknown');
    const fine = meterReading(2, 'meter-unknown');
    await producer.publishMany(contract, [doomed, fine]);

    const calls: number[] = [];
    const handled: number[] = [];
    await startConsumer(uniqueGroupId('permanent'), contract, (event) => {
      calls.push(event.seq);
      if (event.seq === 1) throw new PermanentEventError(`meter ${event.meterId} was never enrolled`);
      handled.push(event.seq);
    });
    await waitUntil(() => handled.length === 1, { description: 'the second event to be handled' });

    const [dead] = await readTopic(kafka, deadLetterTopicName(contract.name), 1);
    expect(JSON.parse(dead?.value ?? '')).toEqual(doomed);
    expect(dead?.headers[DLQ_HEADERS.reason]).toBe(
      'permanent-error: PermanentEventError: meter meter-unknown was never enrolled',
    );
    expect(calls).toEqual([1, 2]);
    expect(await recordCount(kafka, deadLetterTopicName(contract.name))).toBe(1);
  });
});
