import { type EventEnvelope, type TopicContract, validateEvent } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import { describeError } from './event-errors';
import { kafkaTracer, messagingAttributes } from './kafka-telemetry';
import { type EventHeaders, injectTraceContext } from './trace-headers';

export interface EventProducerOptions {
  kafka: Kafka;
  logger?: Logger;
  /** Topics that must exist: connect() fails fast naming the missing ones (the broker does not auto-create). */
  contracts?: readonly TopicContract[];
}

export interface PublishOptions {
  headers?: EventHeaders;
}

/** A publish to a topic the broker does not have; topics are created by ensureTopics, never on the fly. */
export class UnknownTopicError extends Error {
  constructor(
    readonly topics: string[],
    options?: ErrorOptions,
  ) {
    super(
      `Topic(s) ${topics.join(', ')} do not exist on the broker (auto-creation is off; run ensureTopics)`,
      options,
    );
    this.name = 'UnknownTopicError';
  }
}

type ProducerState = 'idle' | 'connected' | 'closing' | 'closed';

/**
 * Publishes contract-checked events: idempotent, acks from all in-sync replicas, trace context in
 * the headers. A publish resolves only once the broker has acknowledged every record.
 */
export class EventProducer {
  private readonly producer: Producer;
  private readonly inFlight = new Set<Promise<void>>();
  /** Topics seen on the broker; the first publish to any other topic checks it exists first. */
  private readonly topicChecks = new Map<string, Promise<void>>();
  private state: ProducerState = 'idle';
  /** Sends waiting for the request under way; they leave together in the next one. */
  private pending: PendingSend[] = [];
  private draining: Promise<void> | undefined;

  constructor(private readonly options: EventProducerOptions) {
    this.producer = options.kafka.producer({
      idempotent: true,
      // kafkajs keeps one sequence number per partition; idempotence needs one request in flight (KIP-98).
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  async connect(): Promise<void> {
    if (this.state === 'connected') return;
    await this.producer.connect();
    try {
      const topics = this.options.contracts?.map((contract) => contract.name) ?? [];
      if (topics.length > 0) {
        await this.assertTopicsExist(topics);
        for (const topic of topics) this.topicChecks.set(topic, Promise.resolve());
      }
    } catch (error) {
      await this.producer.disconnect();
      throw error;
    }
    this.state = 'connected';
  }

  /** Waits for publishes already under way, then disconnects; later publishes are refused. */
  async disconnect(): Promise<void> {
    if (this.state === 'idle' || this.state === 'closed') return;
    this.state = 'closing';
    await Promise.allSettled([...this.inFlight]);
    await this.producer.disconnect();
    this.state = 'closed';
  }

  publish<T extends EventEnvelope>(
    contract: TopicContract<T>,
    event: T,
    options: PublishOptions = {},
  ): Promise<void> {
    return this.publishMany(contract, [event], options);
  }

  /** Validates every event first (nothing is sent when one is invalid), then sends them as one request. */
  async publishMany<T extends EventEnvelope>(
    contract: TopicContract<T>,
    events: readonly T[],
    options: PublishOptions = {},
  ): Promise<void> {
    if (this.state !== 'connected')
      throw new Error(`EventProducer is ${this.state}; publish needs connect() first`);
    const validated = events.map((event) => validateEvent(contract, event));
    if (validated.length === 0) return;
    // Registered before the first await, so a disconnect() that follows waits for this publish.
    const publishing = this.checkTopic(contract.name).then(() => this.send(contract, validated, options));
    this.inFlight.add(publishing);
    try {
      await publishing;
    } finally {
      this.inFlight.delete(publishing);
    }
  }

  private send<T extends EventEnvelope>(
    contract: TopicContract<T>,
    events: T[],
    options: PublishOptions,
  ): Promise<void> {
    const topic = contract.name;
    const keys = events.map((event) => contract.key(event));
    const attributes = messagingAttributes(
      topic,
      'send',
      events.length === 1
        ? { 'messaging.kafka.message.key': keys[0] }
        : { 'messaging.batch.message_count': events.length },
    );
    return kafkaTracer().startActiveSpan(
      `send ${topic}`,
      { kind: SpanKind.PRODUCER, attributes },
      async (span) => {
        try {
          // Injected inside the span, so consumers continue the trace as children of this send.
          const headers = injectTraceContext({ ...options.headers });
          await this.enqueue(
            topic,
            events.map((event, i) => ({ key: keys[i] ?? null, value: JSON.stringify(event), headers })),
          );
        } catch (error) {
          const mapped = isUnknownTopic(error) ? new UnknownTopicError([topic], { cause: error }) : error;
          span.recordException(mapped as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(mapped) });
          this.options.logger?.error({ topic, err: mapped }, 'publish failed');
          throw mapped;
        } finally {
          span.end();
        }
      },
    );
  }

  /**
   * With idempotence, kafkajs keeps one produce request in flight, so concurrent publishers would wait
   * for each other's round trip one by one. Instead, sends that arrive while a request is under way
   * are gathered and leave as the next request (one per broker round trip, in arrival order); each
   * publish still resolves only when the request carrying its records was acknowledged.
   */
  private async enqueue(topic: string, messages: Message[]): Promise<void> {
    // One publish larger than a request may carry leaves as several, in order (the broker refuses a
    // record batch over message.max.bytes, and a caller retrying the same publish would never pass).
    await Promise.all(
      splitMessages(messages).map(
        (chunk) =>
          new Promise<void>((resolve, reject) => {
            this.pending.push({ topic, messages: chunk.messages, bytes: chunk.bytes, resolve, reject });
            this.draining ??= this.drain();
          }),
      ),
    );
  }

  private async drain(): Promise<void> {
    // Sends made in the same tick join the first request.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      const batch = takeBatch(this.pending);
      const byTopic = new Map<string, Message[]>();
      for (const send of batch)
        byTopic.set(send.topic, [...(byTopic.get(send.topic) ?? []), ...send.messages]);
      try {
        await this.producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        for (const send of batch) send.resolve();
      } catch (error) {
        // None of them is acknowledged; a caller that retries may duplicate records that did land,
        // which consumers absorb by eventId.
        for (const send of batch) send.reject(error);
      }
    }
    this.draining = undefined;
  }

  /**
   * kafkajs retries an unknown topic for ~10 s before giving up; one metadata request answers at once.
   * Cached per topic, so only the first publish pays for it.
   */
  private checkTopic(topic: string): Promise<void> {
    let check = this.topicChecks.get(topic);
    if (!check) {
      check = this.assertTopicsExist([topic]).catch((error: unknown) => {
        this.topicChecks.delete(topic);
        throw error;
      });
      this.topicChecks.set(topic, check);
    }
    return check;
  }

  private async assertTopicsExist(topics: string[]): Promise<void> {
    const admin = this.options.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((topic) => !existing.has(topic));
      if (missing.length > 0) throw new UnknownTopicError(missing);
    } finally {
      await admin.disconnect();
    }
  }
}

export type Message = { key: string | null; value: string; headers: EventHeaders };

interface PendingSend {
  topic: string;
  messages: Message[];
  bytes: number;
  resolve(): void;
  reject(error: unknown): void;
}

/** Below the broker's default message.max.bytes (1 MiB) for what one partition may get in a request. */
const MAX_BATCH_BYTES = 768 * 1024;
const MAX_BATCH_RECORDS = 5_000;

/** A record's size as the request carries it, near enough: key, value and headers. */
function messageBytes(message: Message): number {
  let bytes = Buffer.byteLength(message.value) + (message.key === null ? 0 : Buffer.byteLength(message.key));
  for (const [name, value] of Object.entries(message.headers))
    bytes += Buffer.byteLength(name) + (typeof value === 'string' ? Buffer.byteLength(value) : 0);
  return bytes;
}

/** A publish's records in consecutive chunks that each fit one request (a record alone always does). */
export function splitMessages(
  messages: readonly Message[],
  maxBytes = MAX_BATCH_BYTES,
  maxRecords = MAX_BATCH_RECORDS,
): { messages: Message[]; bytes: number }[] {
  const chunks: { messages: Message[]; bytes: number }[] = [];
  let current: { messages: Message[]; bytes: number } = { messages: [], bytes: 0 };
  for (const message of messages) {
    const size = messageBytes(message);
    if (
      current.messages.length > 0 &&
      (current.bytes + size > maxBytes || current.messages.length >= maxRecords)
    ) {
      chunks.push(current);
      current = { messages: [], bytes: 0 };
    }
    current.messages.push(message);
    current.bytes += size;
  }
  if (current.messages.length > 0) chunks.push(current);
  return chunks;
}

/** Takes the oldest waiting sends, as many as fit one request (at least one, however large). */
export function takeBatch<T extends { messages: unknown[]; bytes: number }>(pending: T[]): T[] {
  let bytes = 0;
  let records = 0;
  let count = 0;
  for (const send of pending) {
    if (
      count > 0 &&
      (bytes + send.bytes > MAX_BATCH_BYTES || records + send.messages.length > MAX_BATCH_RECORDS)
    )
      break;
    bytes += send.bytes;
    records += send.messages.length;
    count += 1;
  }
  return pending.splice(0, count);
}

/** kafkajs wraps the broker's UNKNOWN_TOPIC_OR_PARTITION in its retry error; look down the chain. */
function isUnknownTopic(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const candidate = current as { type?: unknown; cause?: unknown; originalError?: unknown };
    if (candidate.type === 'UNKNOWN_TOPIC_OR_PARTITION') return true;
    current = candidate.originalError ?? candidate.cause;
  }
  return false;
}
