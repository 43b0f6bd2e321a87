import { type Kysely, type Migration, sql } from 'kysely';

// Plain DDL, statement by statement: the schema is the search_path, so names are unqualified.
const statements = [
  // One row per data key. wrapped_key is AES-256-GCM under PRIVACY_KEK; destroying a key wipes it.
  `create table data_keys (
    key_id text primary key,
    tenant_id text not null,
    meter_id text not null,
    occupancy_id text unique,
    wrapped_key bytea,
    created_at timestamptz not null default now(),
    destroyed_at timestamptz,
    check ((wrapped_key is null) = (destroyed_at is not null))
  )`,
  // A meter's own key (for times no occupancy covers): one live key per meter; a destroyed one is replaced.
  `create unique index data_keys_live_meter_key on data_keys (tenant_id, meter_id)
    where occupancy_id is null and destroyed_at is null`,
  `create index data_keys_by_meter on data_keys (tenant_id, meter_id)`,
  // Who lived behind a meter, when: [valid_from, valid_to), open-ended while valid_to is null. Periods of
  // one meter never overlap (checked under a per-meter lock by the use case).
  `create table occupancies (
    occupancy_id text primary key,
    tenant_id text not null,
    meter_id text not null,
    subject_ref text not null,
    valid_from timestamptz not null,
    valid_to timestamptz,
    key_id text not null unique references data_keys (key_id),
    created_at timestamptz not null default now(),
    check (valid_to is null or valid_to > valid_from)
  )`,
  `create index occupancies_by_meter on occupancies (tenant_id, meter_id, valid_from, occupancy_id)`,
  `create index occupancies_by_tenant on occupancies (tenant_id, valid_from, occupancy_id)`,
  `alter table data_keys add foreign key (occupancy_id) references occupancies (occupancy_id)
    deferrable initially deferred`,
  // Events written in the transaction of the change they describe; the relay publishes them in id order.
  `create table outbox (
    id bigserial primary key,
    topic text not null,
    payload jsonb not null,
    created_at timestamptz not null default now()
  )`,
];

export const createPrivacyTables: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
