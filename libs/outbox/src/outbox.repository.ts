import type { Kysely } from 'kysely';
import { type EventEnvelope, type TopicContract, validateEvent } from '@meterkeep/contracts';
import { type OutboxDb, type OutboxTableOptions, outboxView } from './outbox-table';

export interface OutboxRecord {
  id: string;
  topic: string;
  payload: unknown;
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
    const rows = events.map((event) => ({
      topic: contract.name,
      payload: JSON.stringify(validateEvent(contract, event)),
    }));
    const db = outboxView(executor, this.options);
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await db
        .insertInto('outbox')
        .values(rows.slice(i, i + INSERT_CHUNK))
        .execute();
    }
  }

  nextBatch<DB extends OutboxDb>(executor: Kysely<DB>, limit: number): Promise<OutboxRecord[]> {
    return outboxView(executor, this.options)
      .selectFrom('outbox')
      .select(['id', 'topic', 'payload'])
      .orderBy('id')
      .limit(limit)
      .execute();
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
