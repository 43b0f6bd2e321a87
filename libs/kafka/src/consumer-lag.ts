import type { Admin, Kafka } from 'kafkajs';
import { observeGauge } from '@meterkeep/observability';

export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

/** A partition's end offsets and the group's committed offset ('-1' when it committed none). */
export interface PartitionOffsets {
  low: string;
  high: string;
  committed: string;
}

/** Records the group has not committed: from its committed offset, or from the log start if none. */
export function lagOf({ low, high, committed }: PartitionOffsets): number {
  const end = Number(high);
  const from = Number(committed) < 0 ? Number(low) : Number(committed);
  return Math.max(0, end - from);
}

/** How long a collection waits for the brokers before it reports nothing (a scrape waits for it). */
const SAMPLE_TIMEOUT_MS = 3_000;
/** Scrapes in quick succession (Prometheus replicas, OTLP) share one answer from the brokers. */
const SAMPLE_MAX_AGE_MS = 5_000;

/**
 * A consumer group's lag per partition, for meterkeep.kafka.consumer.lag: end offset minus committed
 * offset, asked of the brokers (two admin requests per topic) when metrics are collected, at most every
 * few seconds. It keeps reporting while the consumer is stuck, which a lag seen by the consumer
 * itself would not.
 */
export class ConsumerLagGauge {
  private admin: Admin | undefined;
  private connecting: Promise<Admin> | undefined;
  private last: { at: number; lags: Promise<PartitionLag[]> } | undefined;
  private unobserve: (() => void) | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly topics: () => readonly string[],
  ) {}

  start(): void {
    this.unobserve ??= observeGauge('consumerLag', async (observe) => {
      for (const { topic, partition, lag } of await this.sample())
        observe(lag, {
          'messaging.consumer.group.name': this.groupId,
          'messaging.destination.name': topic,
          'messaging.destination.partition.id': String(partition),
        });
    });
  }

  async stop(): Promise<void> {
    this.unobserve?.();
    this.unobserve = undefined;
    const admin = this.admin;
    this.admin = undefined;
    this.connecting = undefined;
    this.last = undefined;
    await admin?.disconnect().catch(() => undefined);
  }

  /** The lag now (or as of a few seconds ago); empty when the brokers do not answer in time. */
  sample(): Promise<PartitionLag[]> {
    const now = Date.now();
    if (!this.last || now - this.last.at > SAMPLE_MAX_AGE_MS)
      this.last = { at: now, lags: withTimeout(this.fetch(), SAMPLE_TIMEOUT_MS).catch(() => []) };
    return this.last.lags;
  }

  private async fetch(): Promise<PartitionLag[]> {
    const admin = await this.connected();
    const topics = [...this.topics()];
    const committed = await admin.fetchOffsets({ groupId: this.groupId, topics });
    const lags: PartitionLag[] = [];
    for (const { topic, partitions } of committed) {
      const ends = new Map(
        (await admin.fetchTopicOffsets(topic)).map((end) => [end.partition, end] as const),
      );
      for (const { partition, offset } of partitions) {
        const end = ends.get(partition);
        if (end)
          lags.push({ topic, partition, lag: lagOf({ low: end.low, high: end.high, committed: offset }) });
      }
    }
    return lags;
  }

  private connected(): Promise<Admin> {
    this.connecting ??= (async () => {
      const admin = this.kafka.admin();
      try {
        await admin.connect();
      } catch (error) {
        this.connecting = undefined;
        throw error;
      }
      this.admin = admin;
      return admin;
    })();
    return this.connecting;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
