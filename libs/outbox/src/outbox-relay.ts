import { ROOT_CONTEXT, context, propagation } from '@opentelemetry/api';
import { type Kysely, sql } from 'kysely';
import type { EventEnvelope, TopicContract } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { observeOutboxBacklog } from './outbox-backlog';
import type { OutboxDb, OutboxTableOptions } from './outbox-table';
import { type OutboxRecord, OutboxRepository } from './outbox.repository';
import type { OutboxNudge } from './transactions';

/** What the relay publishes through: @meterkeep/kafka's EventProducer (idempotent, acks=all). */
export interface EventPublisher {
  publishMany<T extends EventEnvelope>(contract: TopicContract<T>, events: readonly T[]): Promise<unknown>;
}

export interface OutboxRelayOptions<DB extends OutboxDb> extends OutboxTableOptions {
  db: Kysely<DB>;
  publisher: EventPublisher;
  /** The topics this service publishes through its outbox; a record for any other stops the relay. */
  topics: readonly TopicContract[];
  logger: Logger;
  repository?: OutboxRepository;
  /** How often an idle relay looks for events a nudge did not announce (another replica's); 200 ms. */
  pollMs?: number;
  /** Events per transaction; 1,000. */
  batchSize?: number;
  /** The longest wait between retries while Kafka fails; 10 s. */
  maxBackoffMs?: number;
  /** How long a stopping relay keeps publishing what is left; 2 s. */
  finalDrainMs?: number;
}

/**
 * Publishes the outbox in id order: one replica at a time (a transaction-scoped advisory lock), a
 * batch per transaction, rows deleted in the transaction that saw them acknowledged by Kafka. A crash
 * between publish and commit publishes the batch again: consumers dedupe on eventId.
 */
export class OutboxRelay<DB extends OutboxDb = OutboxDb> implements OutboxNudge {
  private readonly contracts: Map<string, TopicContract>;
  private readonly repository: OutboxRepository;
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly maxBackoffMs: number;
  private readonly finalDrainMs: number;
  private loop: Promise<void> | undefined;
  private stopped = true;
  private pending = false;
  private wake: (() => void) | undefined;
  private failures = 0;
  private unobserveBacklog: (() => void) | undefined;

  constructor(private readonly options: OutboxRelayOptions<DB>) {
    this.contracts = new Map(options.topics.map((contract) => [contract.name, contract]));
    this.repository = options.repository ?? new OutboxRepository({ schema: options.schema });
    this.pollMs = options.pollMs ?? 200;
    this.batchSize = options.batchSize ?? 1_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.finalDrainMs = options.finalDrainMs ?? 2_000;
  }

  /** Starts publishing in the background; the producer must be connected. */
  start(): void {
    if (this.loop) return;
    this.stopped = false;
    this.loop = this.run();
    this.unobserveBacklog = observeOutboxBacklog(outboxDb(this.options.db), { schema: this.options.schema });
  }

  /** Stops the loop, then publishes what is left for up to finalDrainMs. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unobserveBacklog?.();
    this.unobserveBacklog = undefined;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    const deadline = Date.now() + this.finalDrainMs;
    try {
      while (Date.now() < deadline && (await this.relayBatch()) > 0);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'outbox: final drain failed; the rest leaves after restart');
    }
  }

  nudge(): void {
    this.pending = true;
    this.wake?.();
  }

  /** Publishes one batch; returns how many events it published (0 when another replica holds the lock). */
  async relayBatch(): Promise<number> {
    return this.options.db.transaction().execute(async (trx) => {
      const { schema } = this.options;
      const scope = schema === undefined ? sql`current_schema()` : sql`${schema}::text`;
      const { rows } = await sql<{ locked: boolean }>`
        select pg_try_advisory_xact_lock(hashtext(${scope} || '.outbox-relay')) as locked`.execute(trx);
      if (!rows[0]?.locked) return 0;
      const batch = await this.repository.nextBatch(trx, this.batchSize);
      for (const run of runsByTopic(batch)) {
        const contract = this.contracts.get(run.topic);
        if (!contract)
          throw new Error(`outbox holds an event for ${run.topic}, which this service does not publish`);
        // Published inside the writer's trace: the producer's span (and the consumers') continue it.
        const writer = run.traceContext ? propagation.extract(ROOT_CONTEXT, run.traceContext) : ROOT_CONTEXT;
        await context.with(writer, () =>
          this.options.publisher.publishMany(contract, run.payloads as EventEnvelope[]),
        );
      }
      await this.repository.remove(
        trx,
        batch.map((record) => record.id),
      );
      return batch.length;
    });
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    while (!this.stopped) {
      let published = 0;
      try {
        published = await this.relayBatch();
        if (this.failures > 0) logger.info({ failures: this.failures }, 'outbox: publishing again');
        this.failures = 0;
      } catch (error) {
        this.failures++;
        logger.warn({ err: error, failures: this.failures }, 'outbox: publish failed; will retry');
      }
      if (published === this.batchSize && this.failures === 0) continue;
      const delay =
        this.failures > 0 ? Math.min(this.pollMs * 2 ** this.failures, this.maxBackoffMs) : this.pollMs;
      await this.sleep(delay);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.pending && this.failures === 0) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}

/** A service's database seen through its outbox table only (its type is invariant in DB). */
function outboxDb<DB extends OutboxDb>(db: Kysely<DB>): Kysely<OutboxDb> {
  return db as unknown as Kysely<OutboxDb>;
}

export interface OutboxRun {
  topic: string;
  traceContext: Record<string, string> | null;
  payloads: unknown[];
}

/**
 * Consecutive records of one topic written in one trace, in order: each run is one publish request
 * (the events of one transaction, or of writers outside any trace, still leave together).
 */
export function runsByTopic(batch: readonly OutboxRecord[]): OutboxRun[] {
  const runs: OutboxRun[] = [];
  const traceOf = (traceContext: Record<string, string> | null) => traceContext?.traceparent;
  for (const record of batch) {
    const last = runs.at(-1);
    if (last?.topic === record.topic && traceOf(last.traceContext) === traceOf(record.traceContext))
      last.payloads.push(record.payload);
    else runs.push({ topic: record.topic, traceContext: record.traceContext, payloads: [record.payload] });
  }
  return runs;
}
