import type { ColumnType, Generated, Kysely } from 'kysely';

/**
 * The table a service's migration creates for its outbox, in the service's own schema:
 *
 *   create table outbox (
 *     id bigserial primary key,
 *     topic text not null,
 *     payload jsonb not null,
 *     created_at timestamptz not null default now(),
 *     trace_context jsonb   -- added later by each service's migration: the writer's W3C trace context
 *   )
 *
 * The DDL stays in each service's migration (a migration is history and never changes with a library).
 */
export interface OutboxTable {
  /** bigserial: read back as a string; the relay publishes in id order. */
  id: Generated<string>;
  topic: string;
  /** jsonb: written as JSON text, read back parsed. */
  payload: ColumnType<unknown, string, string>;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  /**
   * The trace context of the transaction that wrote the event (traceparent, tracestate), so the
   * relay publishes it as part of that trace; null when it was written outside any.
   */
  trace_context: ColumnType<Record<string, string> | null, string | null | undefined, never>;
}

export interface OutboxDb {
  outbox: OutboxTable;
}

export interface OutboxTableOptions {
  /**
   * The schema holding the outbox table. Unset, the connection's search_path decides: a service's
   * database is pinned to its own schema (@meterkeep/db), which is where its outbox lives.
   */
  schema?: string;
}

/** A service's database or a transaction on it, seen only through its outbox table. */
export function outboxView<DB extends OutboxDb>(executor: Kysely<DB>, { schema }: OutboxTableOptions) {
  // Kysely<DB> is not assignable to Kysely<OutboxDb> (its type is invariant in DB); DB extends OutboxDb
  // makes the narrowing safe.
  const db = executor as unknown as Kysely<OutboxDb>;
  return schema === undefined ? db : db.withSchema(schema);
}
