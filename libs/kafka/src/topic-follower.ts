import type { EventEnvelope, TopicContract } from '@meterkeep/contracts';
import {
  type ConsumerState,
  EventConsumer,
  type EventConsumerOptions,
  type EventHandler,
  type EventMeta,
} from './event-consumer';
import { backoffDelay, sleep } from './backoff';
import type { KafkaClient } from './kafka-client';

/** `<topic>:<partition>` → the offset of its last record, for every partition that has records. */
export type EndOffsets = ReadonlyMap<string, number>;

/** The key of a partition in EndOffsets. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** Tries of ListOffsets while a partition has no leader yet (a topic just created, a broker restarting). */
const END_OFFSET_RETRY = { attempts: 8, initialMs: 100, maxMs: 2_000 };

/**
 * The offset of the last record of every non-empty partition of the topics, as they are now. A
 * retriable broker answer (no leader yet for a partition of a topic just created) is asked again
 * with backoff; anything else, or a retriable one that persists, is thrown.
 */
export async function fetchEndOffsets(kafka: KafkaClient, topics: readonly string[]): Promise<EndOffsets> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await endOffsetsNow(kafka, topics);
    } catch (error) {
      if (!isRetriable(error) || attempt >= END_OFFSET_RETRY.attempts) throw error;
      await sleep(backoffDelay(attempt, END_OFFSET_RETRY));
    }
  }
}

async function endOffsetsNow(kafka: KafkaClient, topics: readonly string[]): Promise<EndOffsets> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = new Map<string, number>();
    for (const topic of topics)
      for (const { partition, low, high } of await admin.fetchTopicOffsets(topic))
        if (Number(high) > Number(low)) ends.set(partitionKey(topic, partition), Number(high) - 1);
    return ends;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Points a new consumer group (no member yet) at the current end of the topics: it will read what is
 * published from now on, however long joining the group takes (a fresh group reset to "latest" would
 * start at the end as of its join, and lose what came meanwhile). Returns where it starts: the offset of
 * the last record of each non-empty partition, which the group will not read.
 */
export async function startGroupAtCurrentEnd(
  kafka: KafkaClient,
  groupId: string,
  topics: readonly string[],
): Promise<EndOffsets> {
  const ends = await fetchEndOffsets(kafka, topics);
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const topic of topics) {
      const partitions = [...ends]
        .filter(([key]) => key.startsWith(`${topic}:`))
        .map(([key, last]) => ({ partition: Number(key.slice(topic.length + 1)), offset: String(last + 1) }));
      // Partitions without records keep no offset: the group reads them from their first record.
      if (partitions.length > 0) await admin.setOffsets({ groupId, topic, partitions });
    }
  } finally {
    await admin.disconnect();
  }
  return ends;
}

/** kafkajs marks broker answers worth asking again (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE …). */
function isRetriable(error: unknown): boolean {
  return (error as { retriable?: unknown } | undefined)?.retriable === true;
}

export interface TopicFollowerOptions extends Omit<EventConsumerOptions, 'fromBeginning'> {
  /** Called once, when every partition has been handled up to its end offset. */
  onCaughtUp?: () => void;
}

/**
 * Follows compacted topics (state, one record per key) from their first record, and tells when it
 * has caught up: when every partition has been handled up to the end it had when following began.
 * Until then a key it has not seen may still come, so a miss is "not yet known", never final.
 *
 * `caughtUp` counts the records this process handled, which is right for a group of its own. Replicas
 * sharing a group each see some partitions only: they keep the positions where all can read them and
 * compare them with `endOffsets`.
 */
export class TopicFollower {
  private readonly consumer: EventConsumer;
  private ends: EndOffsets | undefined;
  private readonly reached = new Map<string, number>();
  private isCaughtUp = false;
  private stopped = false;

  constructor(private readonly options: TopicFollowerOptions) {
    const { onCaughtUp: _onCaughtUp, ...consumerOptions } = options;
    this.consumer = new EventConsumer({
      ...consumerOptions,
      fromBeginning: true,
      // A record dead-lettered (not of the contract) is behind us too: the last one of a partition
      // must not keep the follower from ever catching up.
      onDeadLettered: (meta) => {
        consumerOptions.onDeadLettered?.(meta);
        this.handled(meta);
      },
    });
  }

  get state(): ConsumerState {
    return this.consumer.state;
  }

  /** The end offsets taken when following began; undefined before. */
  get endOffsets(): EndOffsets | undefined {
    return this.ends;
  }

  get caughtUp(): boolean {
    return this.isCaughtUp;
  }

  subscribe<T extends EventEnvelope>(contract: TopicContract<T>, handler: EventHandler<T>): this {
    this.consumer.subscribe(contract, async (event, meta) => {
      await handler(event, meta);
      this.handled(meta);
    });
    return this;
  }

  /**
   * Takes the end offsets, then joins the group from the first record; resolves once joined. Does
   * nothing once stopped (stop() may come while the offsets are being fetched).
   */
  async start(): Promise<void> {
    const ends = await fetchEndOffsets(this.options.kafka, this.consumer.topics);
    if (this.stopped) return;
    this.ends = ends;
    await this.consumer.start();
    this.check();
  }

  /** Stops following: the handler under way finishes (see EventConsumer.stop). */
  stop(): Promise<void> {
    this.stopped = true;
    return this.consumer.stop();
  }

  private handled(meta: Pick<EventMeta, 'topic' | 'partition' | 'offset'>): void {
    this.reached.set(partitionKey(meta.topic, meta.partition), Number(meta.offset));
    this.check();
  }

  private check(): void {
    if (this.isCaughtUp || !this.ends) return;
    for (const [partition, last] of this.ends) if ((this.reached.get(partition) ?? -1) < last) return;
    this.isCaughtUp = true;
    this.options.onCaughtUp?.();
  }
}
