import type { EventEnvelope, TopicContract } from '@meterkeep/contracts';
import { type Logger, countMetric, startCounterAtZero } from '@meterkeep/observability';
import { type Link, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  type Consumer,
  type EachBatchPayload,
  type EachMessagePayload,
  type Kafka,
  type KafkaMessage,
  Partitioners,
  type Producer,
} from 'kafkajs';
import { type RetryPolicy, backoffDelay, resolveRetryPolicy, sleep } from './backoff';
import { ConsumerLagGauge } from './consumer-lag';
import { type DeadLetterSource, buildDeadLetterRecord } from './dead-letter';
import { decodeEvent } from './event-codec';
import { PermanentEventError, RefusedRecordsError, describeError, isPermanentError } from './event-errors';
import { kafkaTracer, messagingAttributes } from './kafka-telemetry';
import { type EventHeaders, decodeHeaders, extractTraceContext } from './trace-headers';

export interface EventMeta {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: EventHeaders;
  /** Broker timestamp of the record, epoch milliseconds as a string. */
  timestamp: string;
  /** 1 on the first call for this delivery, then counting in-place retries. */
  attempt: number;
}

export type EventHandler<T> = (event: T, meta: EventMeta) => Promise<void> | void;

/** One decoded record of a batch, in offset order. */
export interface EventRecord<T> {
  event: T;
  meta: EventMeta;
}

/**
 * Handles the valid records of one partition's batch together (one transaction, say). Resolving
 * means every record is done; throwing a permanent error makes the consumer hand the records over
 * again one at a time, so only the bad one goes to the dead-letter topic.
 */
export type BatchEventHandler<T> = (records: readonly EventRecord<T>[]) => Promise<void> | void;

export interface EventConsumerOptions {
  kafka: Kafka;
  groupId: string;
  logger: Logger;
  retry?: Partial<RetryPolicy>;
  /** Where a group without committed offsets starts: the earliest record unless false. */
  fromBeginning?: boolean;
  sessionTimeout?: number;
  heartbeatInterval?: number;
  rebalanceTimeout?: number;
  /** Longest fetch long-poll; also bounds how long stop() waits for an idle fetch. */
  maxWaitTimeInMs?: number;
  partitionsConsumedConcurrently?: number;
  /**
   * How long stop() waits for kafkajs to leave the group. kafkajs first waits for its requests under
   * way, and after a broker restart the coordinator holds a JoinGroup until the old member's session
   * expires (30 s). Past this, stop() lets go: what was handled is committed, the rest is redelivered,
   * and the broker expires the member's session. 3 s by default:
   * a service stopping two consumers one after the other stays within SHUTDOWN_TIMEOUT_MS (10 s).
   */
  disconnectTimeoutMs?: number;
  /**
   * Batch mode (subscribeBatch): the most records one handler call receives; a longer kafkajs batch is
   * handed over in slices of this size, each committed and followed by a heartbeat. 500 by default.
   */
  maxBatchRecords?: number;
  /** Called once a record went to its dead-letter topic (it was handled: a follower counts it read). */
  onDeadLettered?: (meta: Pick<EventMeta, 'topic' | 'partition' | 'offset'>) => void;
}

const DEFAULT_DISCONNECT_TIMEOUT_MS = 3_000;
const DEFAULT_MAX_BATCH_RECORDS = 500;
/** Producer spans a batch span links to; past this the links add little and cost memory. */
const MAX_SPAN_LINKS = 128;

export type ConsumerState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'crashed';

type Prepared = { ok: true; run: (meta: EventMeta) => Promise<void> | void } | { ok: false; reason: string };

interface MessageSubscription {
  kind: 'message';
  /** Decodes one record; on success, the call that runs the handler once. */
  prepare(value: Buffer | null): Prepared;
}

interface BatchSubscription {
  kind: 'batch';
  decode(value: Buffer | null): { ok: true; event: unknown } | { ok: false; reason: string };
  run(records: readonly EventRecord<unknown>[]): Promise<void> | void;
}

type Subscription = MessageSubscription | BatchSubscription;

/** A valid record of a batch and where it came from (for its dead-letter copy). */
interface Decoded extends EventRecord<unknown> {
  message: KafkaMessage;
}

/**
 * Consumes contract-checked events in a consumer group. Per record: undecodable or invalid → dead
 * letter; PermanentEventError → dead letter; any other handler error → retried in place with backoff,
 * then left uncommitted (redelivered). An offset is committed only once its record was handled or
 * its dead-letter copy acknowledged.
 *
 * Batch mode (subscribeBatch; a consumer is either per record or per batch): the same rules, per
 * slice of a partition's batch. The handler gets the slice's valid records at once; the slice's
 * offset is resolved only once the handler resolved and its invalid records' dead-letter copies were
 * acknowledged; a transient failure retries the whole slice; a permanent one replays it record by
 * record so only the bad one is dead-lettered.
 */
/** The consumers started in this process and not yet stopped. */
const startedConsumers = new Set<EventConsumer>();

/**
 * Stops every consumer this process started, all at once. A service process calls it first on SIGTERM:
 * each consumer may wait its disconnect timeout to leave its group (a broker that just restarted holds
 * the leave), and one after another, as Nest's module hooks would stop them, a service with many
 * consumers outlasts its shutdown timeout. Not for a process hosting several services (tests).
 */
export async function stopAllEventConsumers(): Promise<void> {
  await Promise.all([...startedConsumers].map((consumer) => consumer.stop()));
}

export class EventConsumer {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly retry: RetryPolicy;
  private readonly inFlight = new Set<Promise<void>>();
  private consumer: Consumer | undefined;
  private deadLetterProducer: Producer | undefined;
  private lag: ConsumerLagGauge | undefined;
  private stopController = new AbortController();
  private stopping: Promise<void> | undefined;
  private currentState: ConsumerState = 'idle';

  constructor(private readonly options: EventConsumerOptions) {
    this.retry = resolveRetryPolicy(options.retry);
  }

  get state(): ConsumerState {
    return this.currentState;
  }

  get running(): boolean {
    return this.currentState === 'running';
  }

  get groupId(): string {
    return this.options.groupId;
  }

  get topics(): string[] {
    return [...this.subscriptions.keys()];
  }

  subscribe<T extends EventEnvelope>(contract: TopicContract<T>, handler: EventHandler<T>): this {
    this.checkCanSubscribe(contract.name, 'message');
    this.subscriptions.set(contract.name, {
      kind: 'message',
      prepare: (value) => {
        const decoded = decodeEvent(contract, value);
        return decoded.ok ? { ok: true, run: (meta) => handler(decoded.event, meta) } : decoded;
      },
    });
    return this;
  }

  /** Handles the topic's records a partition's batch at a time (see the class comment). */
  subscribeBatch<T extends EventEnvelope>(contract: TopicContract<T>, handler: BatchEventHandler<T>): this {
    this.checkCanSubscribe(contract.name, 'batch');
    this.subscriptions.set(contract.name, {
      kind: 'batch',
      decode: (value) => decodeEvent(contract, value),
      run: (records) => handler(records as readonly EventRecord<T>[]),
    });
    return this;
  }

  private checkCanSubscribe(topic: string, kind: Subscription['kind']): void {
    if (this.currentState !== 'idle' && this.currentState !== 'stopped') {
      throw new Error(`Cannot subscribe to ${topic} while the consumer is ${this.currentState}`);
    }
    if (this.subscriptions.has(topic)) {
      throw new Error(`Consumer group ${this.groupId} already has a handler for ${topic}`);
    }
    // kafkajs runs either eachMessage or eachBatch for all of a consumer's topics.
    if ([...this.subscriptions.values()].some((subscription) => subscription.kind !== kind)) {
      throw new Error(
        `Consumer group ${this.groupId} mixes per-record and batch handlers; use two consumers`,
      );
    }
  }

  private get batchMode(): boolean {
    return [...this.subscriptions.values()].some((subscription) => subscription.kind === 'batch');
  }

  /** Joins the group and starts handling; resolves once the first join is done. */
  async start(): Promise<void> {
    if (this.currentState === 'starting' || this.currentState === 'running') return;
    if (this.currentState === 'stopping')
      throw new Error('Consumer is stopping; await stop() before start()');
    if (this.subscriptions.size === 0) throw new Error('Subscribe to at least one contract before start()');
    this.currentState = 'starting';
    this.stopController = new AbortController();
    const { kafka, groupId } = this.options;
    const consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      // Undefined means the kafkajs default.
      sessionTimeout: this.options.sessionTimeout,
      heartbeatInterval: this.options.heartbeatInterval,
      rebalanceTimeout: this.options.rebalanceTimeout,
      maxWaitTimeInMs: this.options.maxWaitTimeInMs,
    });
    const deadLetterProducer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.consumer = consumer;
    startedConsumers.add(this);
    this.deadLetterProducer = deadLetterProducer;
    // Joins and rebalances in the log: a projection that is not consuming says why (waiting out a
    // departed member's session, a rebalance loop) instead of staying silent.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
      this.options.logger.info(
        {
          groupId,
          memberId: payload.memberId,
          durationMs: payload.duration,
          assignment: payload.memberAssignment,
        },
        'kafka consumer joined its group',
      ),
    );
    consumer.on(consumer.events.REBALANCING, ({ payload }) =>
      this.options.logger.info({ groupId, memberId: payload.memberId }, 'kafka consumer group rebalancing'),
    );
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.options.logger.error(
        { groupId, err: payload.error, restart: payload.restart },
        'kafka consumer crashed',
      );
      if (this.currentState === 'stopping' || this.currentState === 'stopped') {
        // kafkajs schedules a restart right after this event even for a consumer being disconnected
        // (tulios/kafkajs#1639): a stop once it is scheduled clears it.
        setImmediate(() => void consumer.stop().catch(() => undefined));
        return;
      }
      if (!payload.restart) this.currentState = 'crashed';
    });
    try {
      await deadLetterProducer.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: this.topics, fromBeginning: this.options.fromBeginning ?? true });
      const partitionsConsumedConcurrently = this.options.partitionsConsumedConcurrently ?? 1;
      await consumer.run(
        this.batchMode
          ? {
              // kafkajs commits what was resolved after each batch (and when the handler throws):
              // only slices whose handler resolved are.
              autoCommit: true,
              eachBatchAutoResolve: false,
              partitionsConsumedConcurrently,
              eachBatch: (payload) => this.track(this.onBatch(payload)),
            }
          : {
              autoCommit: true,
              partitionsConsumedConcurrently,
              eachMessage: (payload) => this.track(this.onMessage(payload)),
            },
      );
    } catch (error) {
      await Promise.allSettled([consumer.disconnect(), deadLetterProducer.disconnect()]);
      this.consumer = undefined;
      this.deadLetterProducer = undefined;
      this.currentState = 'stopped';
      startedConsumers.delete(this);
      throw error;
    }
    // Its dead letters counted from 0, so the first one shows in increase() (the alert's expression).
    startCounterAtZero(
      'deadLetters',
      this.topics.map((topic) => ({
        'messaging.destination.name': topic,
        'messaging.consumer.group.name': groupId,
      })),
    );
    this.lag = new ConsumerLagGauge(kafka, groupId, () => this.topics);
    this.lag.start();
    if (this.currentState === 'starting') this.currentState = 'running';
  }

  /**
   * Stops fetching, lets the handler under way finish (a retry waiting out its backoff gives up, so
   * its record stays uncommitted), commits what was handled, leaves the group and disconnects.
   */
  stop(): Promise<void> {
    this.stopping ??= this.drainAndDisconnect().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  private async drainAndDisconnect(): Promise<void> {
    const { consumer, deadLetterProducer } = this;
    if (!consumer || !deadLetterProducer) return;
    this.currentState = 'stopping';
    this.stopController.abort(new Error('consumer stopping'));
    try {
      // kafkajs waits for the batch under way, commits resolved offsets, then leaves the group.
      const timeoutMs = this.options.disconnectTimeoutMs ?? DEFAULT_DISCONNECT_TIMEOUT_MS;
      const left = await settlesWithin(consumer.disconnect(), timeoutMs);
      // Either way nothing is lost: only handled records were committed; the rest is redelivered.
      if (left !== 'done')
        this.options.logger.warn(
          { groupId: this.groupId, timeoutMs, ...(left !== 'timed out' && { err: left.error }) },
          left === 'timed out'
            ? 'kafka consumer did not leave its group in time; the broker expires its session'
            : 'kafka consumer failed to leave its group; the broker expires its session',
        );
      await Promise.allSettled([...this.inFlight]);
    } finally {
      await this.lag?.stop();
      this.lag = undefined;
      await deadLetterProducer
        .disconnect()
        .catch((error: unknown) =>
          this.options.logger.warn(
            { groupId: this.groupId, err: error },
            'dead-letter producer failed to disconnect',
          ),
        );
      this.consumer = undefined;
      this.deadLetterProducer = undefined;
      this.currentState = 'stopped';
      startedConsumers.delete(this);
    }
  }

  private track(handling: Promise<void>): Promise<void> {
    this.inFlight.add(handling);
    return handling.finally(() => this.inFlight.delete(handling));
  }

  private onMessage(payload: EachMessagePayload): Promise<void> {
    const { topic, partition, message } = payload;
    const subscription = this.subscriptions.get(topic);
    if (subscription?.kind !== 'message') return Promise.reject(new Error(`No handler for topic ${topic}`));
    const headers = decodeHeaders(message.headers);
    const attributes = messagingAttributes(topic, 'process', {
      'messaging.destination.partition.id': String(partition),
      'messaging.kafka.offset': Number(message.offset),
      'messaging.consumer.group.name': this.groupId,
      ...(message.key ? { 'messaging.kafka.message.key': message.key.toString() } : {}),
    });
    // The parent is the producer's span carried in the headers, not whatever kafkajs was doing.
    return kafkaTracer().startActiveSpan(
      `process ${topic}`,
      { kind: SpanKind.CONSUMER, attributes },
      extractTraceContext(headers),
      async (span) => {
        try {
          await this.handle(subscription, payload, headers, span);
        } catch (error) {
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  private async handle(
    subscription: MessageSubscription,
    payload: EachMessagePayload,
    headers: EventHeaders,
    span: Span,
  ) {
    const { topic, partition, message } = payload;
    const prepared = subscription.prepare(message.value);
    if (!prepared.ok) return this.deadLetter(payload, prepared.reason, span);

    const meta = {
      topic,
      partition,
      offset: message.offset,
      key: message.key?.toString() ?? null,
      headers,
      timestamp: message.timestamp,
    };
    const where = { topic, partition, offset: message.offset, groupId: this.groupId };
    for (let attempt = 1; ; attempt++) {
      try {
        await prepared.run({ ...meta, attempt });
        return;
      } catch (error) {
        if (isPermanentError(error))
          return this.deadLetter(payload, `permanent-error: ${describeError(error)}`, span);
        if (attempt >= this.retry.attempts || this.stopController.signal.aborted) {
          // Thrown on to kafkajs: the offset stays uncommitted and the record comes back.
          this.options.logger.error(
            { ...where, attempt, err: error },
            'event handler failed; record left uncommitted',
          );
          throw error;
        }
        const delayMs = backoffDelay(attempt, this.retry);
        this.options.logger.warn(
          { ...where, attempt, delayMs, err: error },
          'event handler failed; retrying',
        );
        span.addEvent('retry', { attempt, delay_ms: delayMs, error: describeError(error) });
        await sleep(delayMs, this.stopController.signal).catch(() => {
          throw error;
        });
        // A long backoff must not cost the group membership.
        await payload.heartbeat();
      }
    }
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const subscription = this.subscriptions.get(batch.topic);
    if (subscription?.kind !== 'batch') throw new Error(`No batch handler for topic ${batch.topic}`);
    const size = Math.max(1, this.options.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS);
    for (let start = 0; start < batch.messages.length; start += size) {
      // Stopping, or a rebalance took the partition: what is left is redelivered.
      if (!payload.isRunning() || payload.isStale() || this.stopController.signal.aborted) return;
      const slice = batch.messages.slice(start, start + size);
      await this.onSlice(subscription, payload, slice);
      payload.resolveOffset(slice[slice.length - 1]!.offset);
      await payload.commitOffsetsIfNecessary();
      await payload.heartbeat();
    }
  }

  private onSlice(
    subscription: BatchSubscription,
    payload: EachBatchPayload,
    messages: readonly KafkaMessage[],
  ): Promise<void> {
    const { topic, partition } = payload.batch;
    const valid: Decoded[] = [];
    const invalid: { message: KafkaMessage; reason: string }[] = [];
    const links: Link[] = [];
    for (const message of messages) {
      const headers = decodeHeaders(message.headers);
      if (links.length < MAX_SPAN_LINKS) {
        const context = trace.getSpanContext(extractTraceContext(headers));
        if (context) links.push({ context });
      }
      const decoded = subscription.decode(message.value);
      if (!decoded.ok) {
        invalid.push({ message, reason: decoded.reason });
        continue;
      }
      valid.push({
        event: decoded.event,
        message,
        meta: {
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          headers,
          timestamp: message.timestamp,
          attempt: 1,
        },
      });
    }
    const attributes = messagingAttributes(topic, 'process', {
      'messaging.destination.partition.id': String(partition),
      'messaging.kafka.offset': Number(messages[0]?.offset),
      'messaging.batch.message_count': messages.length,
      'messaging.consumer.group.name': this.groupId,
    });
    // Many producers' records: linked, not parented.
    return kafkaTracer().startActiveSpan(
      `process ${topic}`,
      { kind: SpanKind.CONSUMER, attributes, links },
      async (span) => {
        try {
          if (valid.length > 0) await this.handleRecords(subscription, payload, valid, span);
          for (const { message, reason } of invalid)
            await this.deadLetter({ topic, partition, message }, reason, span);
        } catch (error) {
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  /** Runs the batch handler with in-place retries; a permanent error replays the records one by one. */
  private async handleRecords(
    subscription: BatchSubscription,
    payload: EachBatchPayload,
    records: readonly Decoded[],
    span: Span,
  ): Promise<void> {
    const { topic, partition } = payload.batch;
    const where = {
      topic,
      partition,
      firstOffset: records[0]!.meta.offset,
      lastOffset: records[records.length - 1]!.meta.offset,
      records: records.length,
      groupId: this.groupId,
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await subscription.run(records.map(({ event, meta }) => ({ event, meta: { ...meta, attempt } })));
        return;
      } catch (error) {
        if (isPermanentError(error)) {
          if (records.length === 1) {
            const [{ message }] = records as [Decoded];
            return this.deadLetter(
              { topic, partition, message },
              `permanent-error: ${describeError(error)}`,
              span,
            );
          }
          if (error instanceof RefusedRecordsError && error.namesRecordsOf(records.length))
            return this.handleRefused(subscription, payload, records, error, span);
          this.options.logger.warn(
            { ...where, err: error },
            'batch handler refused a record; handling the batch record by record',
          );
          for (const record of records) {
            await this.handleRecords(subscription, payload, [record], span);
            await payload.heartbeat();
          }
          return;
        }
        if (attempt >= this.retry.attempts || this.stopController.signal.aborted) {
          // Thrown on to kafkajs: the slice's offsets stay uncommitted and the records come back.
          this.options.logger.error(
            { ...where, attempt, err: error },
            'batch handler failed; records left uncommitted',
          );
          throw error;
        }
        const delayMs = backoffDelay(attempt, this.retry);
        this.options.logger.warn(
          { ...where, attempt, delayMs, err: error },
          'batch handler failed; retrying',
        );
        span.addEvent('retry', { attempt, delay_ms: delayMs, error: describeError(error) });
        await sleep(delayMs, this.stopController.signal).catch(() => {
          throw error;
        });
        await payload.heartbeat();
      }
    }
  }

  /**
   * The records a handler named as refused go to the DLQ, the rest to the handler again as one slice.
   * The rest first: if it fails for good, the slice is redelivered and nothing was dead-lettered twice.
   */
  private async handleRefused(
    subscription: BatchSubscription,
    payload: EachBatchPayload,
    records: readonly Decoded[],
    error: RefusedRecordsError,
    span: Span,
  ): Promise<void> {
    const { topic, partition } = payload.batch;
    const reasons = new Map(error.refused.map((r) => [r.index, r.reason]));
    this.options.logger.warn(
      { topic, partition, records: records.length, refused: reasons.size, groupId: this.groupId },
      'batch handler refused records; dead-lettering those, handing the rest over again',
    );
    const rest = records.filter((_, i) => !reasons.has(i));
    if (rest.length > 0) await this.handleRecords(subscription, payload, rest, span);
    for (const [index, reason] of [...reasons].sort(([a], [b]) => a - b)) {
      // Worded as a refusal of that record alone would be.
      const alone = describeError(new PermanentEventError(reason));
      await this.deadLetter(
        { topic, partition, message: records[index]!.message },
        `permanent-error: ${alone}`,
        span,
      );
    }
    await payload.heartbeat();
  }

  private async deadLetter(payload: DeadLetterSource, reason: string, span: Span): Promise<void> {
    const producer = this.deadLetterProducer;
    if (!producer) throw new Error('Consumer is not started');
    const record = buildDeadLetterRecord(payload, reason, new Date());
    await producer.send({ topic: record.topic, acks: -1, messages: [record.message] });
    countMetric('deadLetters', {
      'messaging.destination.name': payload.topic,
      'messaging.consumer.group.name': this.groupId,
    });
    span.setAttribute('meterkeep.dead_letter.reason', reason);
    span.addEvent('dead-lettered', { topic: record.topic });
    this.options.logger.warn(
      {
        topic: payload.topic,
        partition: payload.partition,
        offset: payload.message.offset,
        deadLetterTopic: record.topic,
        reason,
      },
      'event dead-lettered',
    );
    this.options.onDeadLettered?.({
      topic: payload.topic,
      partition: payload.partition,
      offset: payload.message.offset,
    });
  }
}

type Settled = 'done' | 'timed out' | { error: unknown };

/** How the promise settled within the time; a rejection after it is ignored. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<Settled> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Settled>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), ms);
  });
  const settled = promise.then(
    (): Settled => 'done',
    (error: unknown): Settled => ({ error }),
  );
  return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
}
