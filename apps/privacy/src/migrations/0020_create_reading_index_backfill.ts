import { type Kysely, type Migration, sql } from 'kysely';

// The readings index's backfill (exports/readings-backfill.ts): per partition of telemetry.readings.v1,
// where the scan stops (the release group's committed offset when the backfill first ran: the live
// indexer owns what comes after) and the next offset to read, so a stopped run resumes there.
const statements = [
  `create table reading_index_backfill (
    partition integer primary key,
    stop_offset bigint not null,
    next_offset bigint not null,
    indexed bigint not null default 0,
    updated_at timestamptz not null default now()
  )`,
];

export const createReadingIndexBackfill: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
