import { type Kysely, type Migration, sql } from 'kysely';

// Subject access exports (exports/). reading_ranges: the index of telemetry.readings.v1 that lets an
// export read only a meter's own records: per (meter, data key, partition), coalesced offset ranges of
// the sealed records the release consumer opened, with the reading-time bounds they hold. exports: the
// durable export jobs, claimed one replica at a time (FOR UPDATE SKIP LOCKED).
const statements = [
  `create table reading_ranges (
    tenant_id text not null,
    meter_id text not null,
    key_id text not null,
    partition integer not null,
    first_offset bigint not null,
    last_offset bigint not null,
    records integer not null check (records >= 1),
    reading_from timestamptz not null,
    reading_to timestamptz not null,
    primary key (tenant_id, meter_id, key_id, partition, first_offset),
    check (last_offset >= first_offset)
  )`,
  `create index reading_ranges_by_time on reading_ranges (tenant_id, meter_id, reading_from, reading_to)`,
  `create table exports (
    export_id text primary key,
    tenant_id text not null,
    subject_ref text not null,
    state text not null check (state in ('REQUESTED', 'RUNNING', 'READY', 'FAILED', 'EXPIRED')),
    occupancy_ids jsonb not null,
    link_ttl_s integer not null check (link_ttl_s between 300 and 604800),
    requested_by text not null,
    requested_at timestamptz not null default now(),
    attempts integer not null default 0,
    lease_owner text,
    lease_until timestamptz,
    object_key text,
    archive_sha256 text,
    archive_bytes bigint,
    wrapped_archive_key bytea,
    summary jsonb,
    ready_at timestamptz,
    expires_at timestamptz,
    expired_at timestamptz,
    error text
  )`,
  `create index exports_by_subject on exports (tenant_id, subject_ref, requested_at)`,
  `create index exports_due on exports (state, expires_at)`,
  `create index exports_open on exports (requested_at) where state in ('REQUESTED', 'RUNNING')`,
];

export const createExports: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
