import { type EventEnvelope, type TopicContract } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import { encodeEvent } from './event-codec';
import { describeError } from './event-errors';
import { type EventHeaders, injectTraceContext } from './trace-headers';

/** What one transaction may carry, in bytes: many requests, one commit. */
const MAX_TRANSACTION_BYTES = 16 * 1024 * 1024;
/** What one produce request may carry: below the broker's default message.max.bytes (1 MiB). */
const MAX_REQUEST_BYTES = 768 * 1024;

/** The oldest waiting writes that fit one transaction (at least one). */
function takeTransaction(pending: PendingWrite[]): PendingWrite[] {
  let bytes = 0;
  let count = 0;
  for (const write of pending) {
    if (count > 0 && bytes + write.bytes > MAX_TRANSACTION_BYTES) break;
    bytes += write.bytes;
    count += 1;
  }
  return pending.splice(0, count);
}

type TopicMessages = { topic: string; messages: { key: string; value: string; headers?: EventHeaders }[] }[];

/** Splits a transaction's records into produce requests of at most MAX_REQUEST_BYTES (at least one record each). */
function requests(byTopic: Map<string, OutgoingRecord[]>): TopicMessages[] {
  const out: TopicMessages[] = [];
  let current = new Map<string, TopicMessages[number]['messages']>();
  let bytes = 0;
  for (const [topic, records] of byTopic)
    for (const { key, value, headers } of records) {
      const size = key.length + value.length;
      if (bytes > 0 && bytes + size > MAX_REQUEST_BYTES) {
        out.push([...current].map(([t, messages]) => ({ topic: t, messages })));
        current = new Map();
        bytes = 0;
      }
      const list = current.get(topic);
      if (list) list.push({ key, value, headers });
      else current.set(topic, [{ key, value, headers }]);
      bytes += size;
    }
  if (bytes > 0) out.push([...current].map(([t, messages]) => ({ topic: t, messages })));
  return out;
}

export interface TransactionalProducerOptions {
  kafka: Kafka;
  /**
   * Stable per replica (a StatefulSet pod name, the host name): a restarted replica with the same id
   * fences its predecessor and aborts the transaction it left open, so nothing it had not
   * acknowledged becomes visible to read-committed consumers.
   */
  transactionalId: string;
  logger?: Logger;
  /** The broker aborts a transaction left open longer than this (a replica that died with a new id). */
  transactionTimeoutMs?: number;
}

/** One record, already contract-checked (see contractRecord). */
export interface OutgoingRecord {
  topic: string;
  key: string;
  value: string;
  headers?: EventHeaders;
}

/** Validates an event against its topic's contract and makes the record for it (throws when invalid). */
export function contractRecord<T extends EventEnvelope>(
  contract: TopicContract<T>,
  event: T,
  headers?: EventHeaders,
): OutgoingRecord {
  return { topic: contract.name, key: contract.key(event), value: encodeEvent(contract, event), headers };
}

interface PendingWrite {
  notAfterMs: number;
  messages: OutgoingRecord[];
  bytes: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Writes groups of records exactly once: each write() joins the next Kafka transaction (writes that
 * arrive while one commits leave together in the next), and resolves only after that transaction
 * committed, so every record of it is durable (acks=all) and visible to read-committed consumers at
 * once. A failed transaction is aborted and every write in it rejected: none of its records is ever
 * seen by read-committed consumers, so the caller may retry without a duplicate.
 */
export class TransactionalProducer {
  private producer: Producer | undefined;
  private pending: PendingWrite[] = [];
  private draining: Promise<void> | undefined;
  private closed = false;
  private connecting: Promise<Producer> | undefined;

  constructor(private readonly options: TransactionalProducerOptions) {}

  /** Connects and fences any earlier producer with the same transactional id. */
  async connect(): Promise<void> {
    await this.ready();
  }

  /**
   * Resolves once the records are committed. With `notAfterMs` (epoch ms), a write still waiting for
   * its transaction at that time is refused unsent: callers that hold a lock bound how late it lands.
   */
  write(records: OutgoingRecord[], options: { notAfterMs?: number } = {}): Promise<void> {
    if (this.closed) return Promise.reject(new Error('TransactionalProducer is closed'));
    if (records.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const headers = injectTraceContext({});
      const messages = records.map((record) => ({ ...record, headers: { ...headers, ...record.headers } }));
      this.pending.push({
        messages,
        notAfterMs: options.notAfterMs ?? Number.POSITIVE_INFINITY,
        bytes: records.reduce((n, r) => n + r.value.length + r.key.length, 0),
        resolve,
        reject,
      });
      this.draining ??= this.drain();
    });
  }

  /** Lets writes under way finish (or fail), then disconnects. */
  async disconnect(): Promise<void> {
    this.closed = true;
    await this.draining;
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
  }

  private ready(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= (async () => {
      const producer = this.options.kafka.producer({
        transactionalId: this.options.transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: this.options.transactionTimeoutMs ?? 10_000,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        // A transaction begun right after a commit meets CONCURRENT_TRANSACTIONS until the broker has
        // written the markers (a few ms): kafkajs' default 300 ms first retry caps it at ~6 commits/s.
        retry: { initialRetryTime: 5, maxRetryTime: 2_000, retries: 10 },
      });
      try {
        await producer.connect();
      } catch (error) {
        await producer.disconnect().catch(() => undefined);
        throw error;
      }
      this.producer = producer;
      return producer;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async drain(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      try {
        // Connected first, so the deadline check below is close to the transaction's start.
        await this.ready();
      } catch (error) {
        for (const write of this.pending.splice(0)) write.reject(error);
        break;
      }
      const now = Date.now();
      const late = this.pending.filter((write) => write.notAfterMs <= now);
      if (late.length > 0) {
        this.pending = this.pending.filter((write) => write.notAfterMs > now);
        for (const write of late)
          write.reject(new Error('The write waited too long for a transaction; not sent'));
        if (this.pending.length === 0) break;
      }
      const batch = takeTransaction(this.pending);
      try {
        await this.commit(batch);
        for (const write of batch) write.resolve();
      } catch (error) {
        for (const write of batch) write.reject(error);
      }
    }
    this.draining = undefined;
  }

  private async commit(batch: PendingWrite[]): Promise<void> {
    const producer = await this.ready();
    const byTopic = new Map<string, OutgoingRecord[]>();
    for (const write of batch)
      for (const message of write.messages) {
        const list = byTopic.get(message.topic);
        if (list) list.push(message);
        else byTopic.set(message.topic, [message]);
      }
    const transaction = await producer.transaction();
    try {
      // Requests stay under the broker's message.max.bytes; the transaction spans them all, so the
      // cost of committing is shared by every write in it.
      for (const request of requests(byTopic))
        await transaction.sendBatch({ acks: -1, topicMessages: request });
      await transaction.commit();
    } catch (error) {
      this.options.logger?.warn({ err: describeError(error) }, 'transaction failed; aborting it');
      try {
        await transaction.abort();
      } catch {
        // The producer's state is unknown (fenced, broker gone): start over with a new one, whose
        // initialisation aborts whatever this one left open.
        const broken = this.producer;
        this.producer = undefined;
        await broken?.disconnect().catch(() => undefined);
      }
      throw error;
    }
  }
}
