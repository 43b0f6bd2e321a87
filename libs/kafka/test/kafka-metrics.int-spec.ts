import { Partitioners } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type PrometheusSample,
  type Telemetry,
  parsePrometheusText,
  samplesOf,
  startTelemetry,
} from '@meterkeep/observability';
import { EventConsumer, EventProducer, ensureTopics, lagOf } from '../src';
import {
  fastConsumer,
  groupCaughtUp,
  meterContract,
  meterReading,
  testKafka,
  testLogger,
  uniqueGroupId,
  waitUntil,
} from './kafka-test-kit';

describe('lagOf', () => {
  it('counts from the committed offset, or from the log start when the group committed none', () => {
    expect(lagOf({ low: '0', high: '10', committed: '4' })).toBe(6);
    expect(lagOf({ low: '3', high: '10', committed: '-1' })).toBe(7);
    expect(lagOf({ low: '0', high: '10', committed: '10' })).toBe(0);
  });
});

describe('Kafka metrics on the Prometheus endpoint', () => {
  const kafka = testKafka();
  let telemetry: Telemetry;
  let scrape: () => Promise<PrometheusSample[]>;
  const cleanup: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    telemetry = startTelemetry({
      serviceName: 'kafka-metrics-it',
      traces: 'none',
      metrics: 'none',
      prometheus: { port: 0, host: '127.0.0.1' },
    });
    const url = (await telemetry.metricsEndpoint)!;
    scrape = async () => parsePrometheusText(await (await fetch(url)).text());
  });
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  afterAll(() => telemetry?.shutdown());

  it('starts the dead letters of each topic it consumes at 0, so the first one shows in increase()', async () => {
    const contract = meterContract('metrics-zero');
    await ensureTopics(kafka, [contract], { deadLetter: true });
    const groupId = uniqueGroupId('metrics-zero');
    const consumer = new EventConsumer({ kafka, groupId, logger: testLogger, ...fastConsumer }).subscribe(
      contract,
      () => Promise.resolve(),
    );
    await consumer.start();
    cleanup.push(() => consumer.stop());
    expect(
      samplesOf(await scrape(), 'meterkeep_kafka_dead_letters_total', {
        messaging_consumer_group_name: groupId,
        messaging_destination_name: contract.name,
      }).map((s) => s.value),
    ).toEqual([0]);
  });

  it('counts a dead-lettered record per source topic and group, and reports the lag per partition', async () => {
    const contract = meterContract('metrics');
    await ensureTopics(kafka, [contract], { deadLetter: true });
    const raw = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await raw.connect();
    cleanup.push(() => raw.disconnect());
    const producer = new EventProducer({ kafka });
    await producer.connect();
    cleanup.push(() => producer.disconnect());

    // One record no contract accepts, then five valid ones the handler holds on to.
    await raw.send({ topic: contract.name, messages: [{ key: 'k', value: 'not json' }] });
    for (let seq = 0; seq < 5; seq++) await producer.publish(contract, meterReading(seq, 'meter-1'));

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let handled = 0;
    const groupId = uniqueGroupId('metrics');
    const consumer = new EventConsumer({ kafka, groupId, logger: testLogger, ...fastConsumer }).subscribe(
      contract,
      async () => {
        await gate;
        handled++;
      },
    );
    await consumer.start();
    cleanup.push(() => consumer.stop());
    cleanup.push(() => Promise.resolve(release()));

    const labels = {
      messaging_consumer_group_name: groupId,
      messaging_destination_name: contract.name,
    };
    await waitUntil(
      async () =>
        samplesOf(await scrape(), 'meterkeep_kafka_dead_letters_total', labels).some((s) => s.value > 0),
      { description: 'the dead letter to be counted' },
    );
    expect(
      samplesOf(await scrape(), 'meterkeep_kafka_dead_letters_total', labels).map((s) => s.value),
    ).toEqual([1]);

    // The handler holds the first valid record: the dead letter (offset 0) may be committed, the five not.
    const lag = samplesOf(await scrape(), 'meterkeep_kafka_consumer_lag', {
      ...labels,
      messaging_destination_partition_id: '0',
    });
    expect(lag).toHaveLength(1);
    expect(lag[0]!.value).toBeGreaterThanOrEqual(5);

    release();
    await waitUntil(() => handled === 5 && groupCaughtUp(kafka, groupId, contract.name), {
      description: 'the group to catch up',
    });
    await waitUntil(
      async () =>
        samplesOf(await scrape(), 'meterkeep_kafka_consumer_lag', labels)
          .map((s) => s.value)
          .join() === '0',
      { description: 'the lag to read 0', timeoutMs: 20_000 },
    );
  });
});
