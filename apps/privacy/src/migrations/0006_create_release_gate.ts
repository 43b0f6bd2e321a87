import { type Kysely, type Migration, sql } from 'kysely';

// The release gate (spec §4.2, apps/privacy/src/release): the opened interval readings it holds until
// every window they fall in is released or withheld, what it released, and the purpose-scoped keys the
// released totals are sealed under.
const statements = [
  // A clear copy inside privacy, by occupancy: an erasure deletes an occupancy's rows (residual copies:
  // this table's backups until the KEK epoch machinery's retention). One row per reading: a reading sent
  // again (another batch, a redelivered record) is the same row.
  `create table release_readings (
    tenant_id text not null,
    occupancy_id text not null references occupancies (occupancy_id),
    obis text not null,
    unit text not null,
    interval_start timestamptz not null,
    interval_minutes integer not null check (interval_minutes > 0),
    quantity double precision not null,
    received_at timestamptz not null default now(),
    primary key (occupancy_id, obis, interval_start, interval_minutes)
  )`,
  `create index release_readings_by_time on release_readings (interval_start, occupancy_id)`,
  // Each window released once per (occupancy, recipient, purpose); the planner never releases one that
  // overlaps another (release-plan.ts).
  `create table released_windows (
    occupancy_id text not null references occupancies (occupancy_id),
    recipient text not null,
    purpose text not null,
    level text not null check (level in ('monthly', 'daily', 'half-hourly')),
    window_start timestamptz not null,
    window_end timestamptz not null check (window_end > window_start),
    event_id uuid not null unique,
    key_id text not null,
    released_at timestamptz not null,
    primary key (occupancy_id, recipient, purpose, window_start, level)
  )`,
  // One AES-256 key per (occupancy, recipient, purpose), wrapped like the data keys: destroying it
  // shreds that purpose's released copies (withdrawal), destroying an occupancy's keys all of them.
  `create table release_keys (
    key_id text primary key,
    tenant_id text not null,
    meter_id text not null,
    occupancy_id text not null references occupancies (occupancy_id),
    recipient text not null,
    purpose text not null,
    wrapped_key bytea,
    kek_epoch integer not null references kek_epochs (epoch),
    created_at timestamptz not null default now(),
    destroyed_at timestamptz,
    unique (occupancy_id, recipient, purpose),
    check ((wrapped_key is null) = (destroyed_at is not null))
  )`,
];

export const createReleaseGate: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
