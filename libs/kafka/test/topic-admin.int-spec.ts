import { defineTopic, deadLetterTopicName } from '@meterkeep/contracts';
import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '../src';
import { meterReading, meterReadingSchema, testKafka, uniqueTopicName } from './kafka-test-kit';

describe('ensureTopics', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("creates each topic with the contract's partitions and config, and a plain dead-letter topic", async () => {
    const compacted = defineTopic({
      name: uniqueTopicName('compacted'),
      schema: meterReadingSchema,
      key: (event) => event.meterId,
      partitions: 3,
      config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '60000' },
      example: meterReading(0),
    });
    const dlq = deadLetterTopicName(compacted.name);
    expect(await ensureTopics(kafka, [compacted], { deadLetter: true, replicationFactor: 1 })).toEqual([
      compacted.name,
      dlq,
    ]);

    const { topics } = await admin.fetchTopicMetadata({ topics: [compacted.name, dlq] });
    expect(topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual([
      [compacted.name, 3],
      [dlq, 3],
    ]);
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [compacted.name, dlq].map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['cleanup.policy', 'min.compaction.lag.ms'],
      })),
    });
    const config = (name: string) =>
      Object.fromEntries(
        resources
          .find((r) => r.resourceName === name)!
          .configEntries.map((e) => [e.configName, e.configValue]),
      );
    expect(config(compacted.name)).toEqual({ 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '60000' });
    expect(config(dlq)['cleanup.policy']).toBe('delete');

    // Idempotent: existing topics are left alone.
    expect(await ensureTopics(kafka, [compacted], { deadLetter: true })).toEqual([]);
  });
});
