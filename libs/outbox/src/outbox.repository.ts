import { context, propagation } from '@opentelemetry/api';
import type { Kysely } from 'kysely';
import { type EventEnvelope, type TopicContract, validateEvent } from '@meterkeep/contracts';
import { type OutboxDb, type OutboxTableOptions, outboxView } from './outbox-table';

export interface OutboxRecord {
  id: string;
  topic: string;
  payload: unknown;
  /** The W3C trace context (traceparent, tracestate) the event was written in; null outside a trace. */
  traceContext: Record<string, string> | null;
}

const INSERT_CHUNK = 2_000;

/** Events waiting to be published, stored in the transaction of the change they describe. */
export class OutboxRepository {
  constructor(private readonly options: OutboxTableOptions = {}) {}

  /** Validates each event against its contract now, so a bad event fails its own transaction. */
  async enqueue<DB extends OutboxDb, T extends EventEnvelope>(
    executor: Kysely<DB>,
    contract: TopicContract<T>,
    events: readonly T[],
  ): Promise<void> {
    // The writer's trace goes with its events: the relay publishes them as part of it.
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    const traceContext = Object.keys(carrier).length > 0 ? JSON.stringify(carrier) : null;
    const rows = events.map((event) => ({
      topic: contract.name,
      payload: JSON.stringify(validateEvent(contract, event)),
      trace_context: traceContext,
    }));
    const db = outboxView(executor, this.options);
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await db
        .insertInto('outbox')
        .values(rows.slice(i, i + INSERT_CHUNK))
        .execute();
    }
  }

  async nextBatch<DB extends OutboxDb>(executor: Kysely<DB>, limit: number): Promise<OutboxRecord[]> {
    const rows = await outboxView(executor, this.options)
      .selectFrom('outbox')
      .select(['id', 'topic', 'payload', 'trace_context'])
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(({ trace_context, ...row }) => ({ ...row, traceContext: trace_context }));
  }

  async remove<DB extends OutboxDb>(executor: Kysely<DB>, ids: readonly string[]): Promise<void> {
    if (ids.length > 0)
      await outboxView(executor, this.options).deleteFrom('outbox').where('id', 'in', ids).execute();
  }

  async count<DB extends OutboxDb>(executor: Kysely<DB>): Promise<number> {
    const { count } = await outboxView(executor, this.options)
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(count);
  }
}
