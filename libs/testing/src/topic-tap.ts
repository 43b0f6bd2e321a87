import { randomBytes } from 'node:crypto';
import type { TopicContract } from '@meterkeep/contracts';
import { waitUntil } from '@meterkeep/local-stack';

/**
 * What a tap needs of a Kafka client (as `createKafkaClient` of @meterkeep/kafka makes it). Spelt out
 * here rather than imported: @meterkeep/kafka's own tests use this library, and kafkajs stays inside it.
 */
export interface TapKafka {
  admin(): {
    connect(): Promise<void>;
    disconnect(): Promise<void>;
    fetchTopicOffsets(topic: string): Promise<{ partition: number; high: string }[]>;
    setOffsets(options: {
      groupId: string;
      topic: string;
      partitions: { partition: number; offset: string }[];
    }): Promise<void>;
  };
  consumer(config: {
    groupId: string;
    sessionTimeout: number;
    heartbeatInterval: number;
    maxWaitTimeInMs: number;
  }): TapConsumer;
}

interface TapConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(subscription: { topic: string; fromBeginning: boolean }): Promise<void>;
  run(config: {
    eachMessage: (payload: {
      partition: number;
      message: {
        key: Buffer | null;
        value: Buffer | null;
        offset: string;
        timestamp: string;
        headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
      };
    }) => Promise<void>;
  }): Promise<void>;
}

const letters = (n: number) => Array.from(randomBytes(n), (b) => String.fromCharCode(97 + (b % 26))).join('');

/** Commits the group's offsets at the topic's end, so a new group reads only what comes next. */
export async function startGroupAtEnd(kafka: TapKafka, groupId: string, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // A topic created a moment ago may not have answered for its leaders yet.
    const offsets = await waitUntil(() => admin.fetchTopicOffsets(topic), {
      timeoutMs: 30_000,
      description: `offsets of ${topic}`,
    });
    await admin.setOffsets({
      groupId,
      topic,
      partitions: offsets.map(({ partition, high }) => ({ partition, offset: high })),
    });
  } finally {
    await admin.disconnect();
  }
}

export interface TappedRecord {
  key: string | null;
  value: string;
  json: Record<string, unknown>;
  partition: number;
  offset: string;
  /** The broker's timestamp, epoch milliseconds. */
  timestamp: number;
  headers: Record<string, string>;
}

export interface TopicTapOptions {
  /** The tap's consumer group is `<groupPrefix>-<random letters>`. */
  groupPrefix?: string;
}

/** Everything published to a topic from the moment it was opened. */
export class TopicTap {
  readonly records: TappedRecord[] = [];

  private constructor(private readonly consumer: TapConsumer) {}

  static async open(
    kafka: TapKafka,
    contract: TopicContract | string,
    { groupPrefix = 'it-tap' }: TopicTapOptions = {},
  ): Promise<TopicTap> {
    const topic = typeof contract === 'string' ? contract : contract.name;
    const groupId = `${groupPrefix}-${letters(10)}`;
    // The group starts at the topic's end: earlier runs' events are not ours.
    await startGroupAtEnd(kafka, groupId, topic);
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: 6_000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 100,
    });
    const tap = new TopicTap(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        const value = message.value?.toString() ?? '';
        tap.records.push({
          key: message.key?.toString() ?? null,
          value,
          json: JSON.parse(value || '{}') as Record<string, unknown>,
          partition,
          offset: message.offset,
          timestamp: Number(message.timestamp),
          headers: Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value ?? '')]),
          ),
        });
        return Promise.resolve();
      },
    });
    return tap;
  }

  /** Waits until at least `count` records match, and returns those matching. */
  waitFor(
    predicate: (record: TappedRecord) => boolean,
    count = 1,
    description = 'records',
    timeoutMs = 30_000,
  ): Promise<TappedRecord[]> {
    return waitUntil(
      () => {
        const found = this.records.filter(predicate);
        return found.length >= count ? found : undefined;
      },
      { timeoutMs, description: `${count} ${description}` },
    );
  }

  close(): Promise<void> {
    return this.consumer.disconnect();
  }
}
