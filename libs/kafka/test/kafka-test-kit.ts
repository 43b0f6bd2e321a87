import { randomInt, randomUUID } from 'node:crypto';
import { type TopicContract, defineTopic, eventEnvelope } from '@meterkeep/contracts';
import { createLogger } from '@meterkeep/observability';
import { localStack, stackEndpoints, waitUntil } from '@meterkeep/testing';
import type { IHeaders, Kafka } from 'kafkajs';
import { z } from 'zod';
import { type EventConsumerOptions, createKafkaClient } from '../src';

export { localStack, stackEndpoints, waitUntil };

export const testLogger = createLogger({ service: 'kafka-it', level: process.env.TEST_LOG_LEVEL ?? 'error' });

/** Topic names allow lowercase letters and hyphens only, so uniqueName()'s digits will not do. */
export function randomLetters(length = 12): string {
  return Array.from({ length }, () => String.fromCharCode(97 + randomInt(26))).join('');
}

export function uniqueTopicName(subject: string): string {
  return `it-${randomLetters()}.${subject}.v1`;
}

export function uniqueGroupId(purpose: string): string {
  return `it-${purpose}-${randomLetters(8)}`;
}

export const meterReadingSchema = eventEnvelope.extend({
  meterId: z.string().min(1),
  seq: z.number().int().nonnegative(),
});
export type MeterReading = z.infer<typeof meterReadingSchema>;

export function meterContract(subject: string, partitions = 1): TopicContract<MeterReading> {
  return defineTopic({
    name: uniqueTopicName(subject),
    schema: meterReadingSchema,
    key: (event) => `${event.tenantId}/${event.meterId}`,
    partitions,
    example: meterReading(0),
  });
}

export function meterReading(seq: number, meterId = `meter-${seq % 7}`): MeterReading {
  return { eventId: randomUUID(), tenantId: 'tenant-a', occurredAt: new Date().toISOString(), meterId, seq };
}

export function testKafka(clientId = `it-${randomLetters(6)}`): Kafka {
  return createKafkaClient({ clientId, ...stackEndpoints().kafka, logger: testLogger });
}

/** Small timeouts so joins, rebalances and stops take milliseconds, not the production seconds. */
export const fastConsumer = {
  sessionTimeout: 6_000,
  heartbeatInterval: 500,
  rebalanceTimeout: 10_000,
  maxWaitTimeInMs: 200,
  retry: { attempts: 3, initialMs: 20, maxMs: 100 },
} satisfies Partial<EventConsumerOptions>;

export interface RawRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[key] = Array.isArray(value) ? String(value.at(-1)) : value.toString();
  }
  return out;
}

/** Reads a topic from the start with a throw-away group until `count` records have arrived. */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  count: number,
  timeoutMs = 20_000,
): Promise<RawRecord[]> {
  const records: RawRecord[] = [];
  const consumer = kafka.consumer({ groupId: uniqueGroupId('reader'), ...fastConsumer, retry: undefined });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        records.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          headers: headersToStrings(message.headers),
        });
        return Promise.resolve();
      },
    });
    await waitUntil(() => records.length >= count, {
      timeoutMs,
      description: `${count} records on ${topic}`,
    });
    return records;
  } finally {
    await consumer.disconnect();
  }
}

/** Records written to a topic so far (sum of high watermarks): shows nothing was sent, or nothing more. */
export async function recordCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, { high, low }) => sum + Number(high) - Number(low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Whether the group has committed every record of the topic (its offsets at the high watermarks). */
export async function groupCaughtUp(kafka: Kafka, groupId: string, topic: string): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [high, [committed]] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId, topics: [topic] }),
    ]);
    return high.every(
      ({ partition, high: end }) =>
        committed?.partitions.find((p) => p.partition === partition)?.offset === end,
    );
  } finally {
    await admin.disconnect();
  }
}

export async function committedOffsets(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<Map<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((result?.partitions ?? []).map(({ partition, offset }) => [partition, offset]));
  } finally {
    await admin.disconnect();
  }
}
