import { Injectable } from '@nestjs/common';
import { type EventEnvelope, type TopicContract, validateEvent } from '@meterkeep/contracts';
import type { Executor } from '../core/database';

export interface OutboxRecord {
  id: string;
  topic: string;
  payload: unknown;
}

const INSERT_CHUNK = 2_000;

/** Events waiting to be published, stored in the transaction of the change they describe. */
@Injectable()
export class OutboxRepository {
  /** Validates each event against its contract now, so a bad event fails its own transaction. */
  async enqueue<T extends EventEnvelope>(
    executor: Executor,
    contract: TopicContract<T>,
    events: readonly T[],
  ): Promise<void> {
    const rows = events.map((event) => ({
      topic: contract.name,
      payload: JSON.stringify(validateEvent(contract, event)),
    }));
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await executor
        .insertInto('outbox')
        .values(rows.slice(i, i + INSERT_CHUNK))
        .execute();
    }
  }

  nextBatch(executor: Executor, limit: number): Promise<OutboxRecord[]> {
    return executor
      .selectFrom('outbox')
      .select(['id', 'topic', 'payload'])
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  async remove(executor: Executor, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await executor.deleteFrom('outbox').where('id', 'in', ids).execute();
  }

  async count(executor: Executor): Promise<number> {
    const { count } = await executor
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(count);
  }
}
