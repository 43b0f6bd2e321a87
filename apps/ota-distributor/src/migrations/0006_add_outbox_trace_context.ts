import { type Kysely, type Migration, sql } from 'kysely';

// The trace context of the transaction that wrote an outbox event (W3C traceparent and tracestate), so
// the relay publishes the event as part of that trace. Null for rows written before, or outside a trace.
const statements = [`alter table outbox add column trace_context jsonb`];

export const addOutboxTraceContext: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
