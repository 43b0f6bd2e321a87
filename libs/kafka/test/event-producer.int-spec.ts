import { ContractViolationError } from '@meterkeep/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventProducer, UnknownTopicError, ensureTopics } from '../src';
import { meterContract, meterReading, readTopic, recordCount, testKafka, testLogger } from './kafka-test-kit';

describe('EventProducer', () => {
  const kafka = testKafka();
  const contract = meterContract('producer', 2);
  const producer = new EventProducer({ kafka, logger: testLogger });

  beforeAll(async () => {
    await ensureTopics(kafka, [contract]);
    await producer.connect();
  });
  afterAll(() => producer.disconnect());

  it('sends a key from the contract, the validated JSON and a traceparent-free header set when no span is active', async () => {
    const event = meterReading(1, 'meter-x');
    await producer.publish(contract, event, { headers: { 'x-origin': 'test' } });
    const [record] = await readTopic(kafka, contract.name, 1);
    expect(record?.key).toBe('tenant-a/meter-x');
    expect(JSON.parse(record?.value ?? '')).toEqual(event);
    expect(record?.headers).toEqual({ 'x-origin': 'test' });
  });

  it('refuses an invalid event before sending anything, even in a batch with valid ones', async () => {
    const before = await recordCount(kafka, contract.name);
    const invalid = { ...meterReading(2), seq: -1 };
    await expect(producer.publish(contract, invalid)).rejects.toThrow(ContractViolationError);
    await expect(producer.publishMany(contract, [meterReading(3), invalid])).rejects.toThrow(/seq/);
    expect(await recordCount(kafka, contract.name)).toBe(before);
  });

  it('fails a publish to a topic the broker does not have at once (no auto-creation, no kafkajs retries)', async () => {
    const missing = meterContract('missing');
    const started = Date.now();
    await expect(producer.publish(missing, meterReading(4))).rejects.toThrow(UnknownTopicError);
    expect(Date.now() - started).toBeLessThan(2_000);
    // Once the topic exists, the same producer publishes to it.
    await ensureTopics(kafka, [missing]);
    await producer.publish(missing, meterReading(5));
    expect(await recordCount(kafka, missing.name)).toBe(1);
  });

  it('fails connect() at once when a contract topic is missing', async () => {
    const missing = meterContract('absent');
    const strict = new EventProducer({ kafka, contracts: [contract, missing] });
    await expect(strict.connect()).rejects.toThrow(missing.name);
    expect(strict.connected).toBe(false);
  });

  it('refuses to publish after disconnect, having waited for sends under way', async () => {
    const own = new EventProducer({ kafka });
    await own.connect();
    const before = await recordCount(kafka, contract.name);
    const sending = own.publishMany(contract, [meterReading(5), meterReading(6)]);
    await own.disconnect();
    await expect(sending).resolves.toBeUndefined();
    expect(await recordCount(kafka, contract.name)).toBe(before + 2);
    await expect(own.publish(contract, meterReading(7))).rejects.toThrow(/closed/);
  });
});
