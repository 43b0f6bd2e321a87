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
          await this.producer.send({
            topic,
            acks: -1,
            messages: events.map((event, i) => ({
              key: keys[i] ?? null,
              value: JSON.stringify(event),
              headers,
            })),
          });
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
