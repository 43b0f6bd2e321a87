import { type Kysely, type Migration, sql } from 'kysely';

// Re-seal jobs (reseal/): a back-dated change of tenancy leaves readings sealed under a key that is no
// longer theirs (the old occupant's after the move-out, the meter's before a back-dated move-in). A job,
// written in the transaction of the change, re-seals them from `reseal_from` on; durable across restarts.
// A future-dated move-out writes one too, due an hour later: it catches readings an ingest replica sealed
// under a key snapshot taken before the change reached it (its cache lives at most an hour).
const statements = [
  `create table reseal_jobs (
    job_id text primary key,
    tenant_id text not null,
    meter_id text not null,
    occupancy_id text not null,
    reason text not null check (reason in ('backdated-close', 'backdated-open', 'future-close')),
    reseal_from timestamptz not null,
    state text not null default 'pending' check (state in ('pending', 'done')),
    attempts integer not null default 0,
    not_before timestamptz not null,
    last_error text,
    records_scanned integer,
    records_resealed integer,
    items_resealed integer,
    created_at timestamptz not null default now(),
    completed_at timestamptz
  )`,
  `create index reseal_jobs_due on reseal_jobs (not_before) where state = 'pending'`,
  `create index reseal_jobs_by_meter on reseal_jobs (tenant_id, meter_id)`,
];

export const createResealJobs: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
