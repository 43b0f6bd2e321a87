import { type Kysely, type Migration, sql } from 'kysely';

// Erasure sagas (erasures/): one row per request, advanced step by step and resumable after a crash;
// the confirmations each service sent; the signed certificate. Retention keys (Art. 17(3)(b)) are data
// keys of an occupancy scoped to one purpose, destroyed automatically at their retain_until.
const statements = [
  // An occupancy keeps one readings key (purpose null); it may also hold retention keys, one per purpose.
  `alter table data_keys drop constraint data_keys_occupancy_id_key`,
  `alter table data_keys add column purpose text`,
  `alter table data_keys add column retain_until timestamptz`,
  `alter table data_keys add check ((purpose is null) = (retain_until is null))`,
  `alter table data_keys add check (purpose is null or occupancy_id is not null)`,
  `create unique index data_keys_readings_key on data_keys (occupancy_id) where purpose is null`,
  `create unique index data_keys_retention_key on data_keys (occupancy_id, purpose) where purpose is not null`,
  // The expiry sweep looks for live retention keys past their date.
  `create index data_keys_retention_due on data_keys (retain_until)
    where purpose is not null and destroyed_at is null`,
  `create table erasures (
    erasure_id text primary key,
    tenant_id text not null,
    subject_ref text not null,
    scope_digest text not null,
    state text not null check (state in
      ('REQUESTED', 'SCOPED', 'KEYS_DESTROYED', 'PURGING', 'CONFIRMING', 'CERTIFIED', 'FAILED')),
    failed_in text,
    last_error text,
    retentions jsonb not null,
    scope jsonb,
    keys_destroyed jsonb,
    audit_records jsonb not null default '[]'::jsonb,
    chain_head_before jsonb,
    fanout_attempts integer not null default 0,
    next_attempt_at timestamptz,
    actor text not null,
    requested_at timestamptz not null,
    keys_destroyed_at timestamptz,
    certified_at timestamptz,
    updated_at timestamptz not null,
    check ((state = 'FAILED') = (failed_in is not null))
  )`,
  // Idempotent: the same subject with the same occupancies and retentions is one erasure.
  `create unique index erasures_by_scope on erasures (tenant_id, subject_ref, scope_digest)`,
  `create index erasures_open on erasures (next_attempt_at) where state not in ('CERTIFIED', 'FAILED')`,
  `create table erasure_confirmations (
    erasure_id text not null references erasures (erasure_id),
    service text not null,
    instance text not null,
    outcome text not null check (outcome in ('completed', 'not-applicable', 'failed')),
    detail text,
    event_id uuid not null,
    confirmed_at timestamptz not null,
    primary key (erasure_id, service, instance)
  )`,
  `create table erasure_certificates (
    certificate_id text primary key,
    erasure_id text not null unique references erasures (erasure_id),
    tenant_id text not null,
    document jsonb not null,
    digest text not null,
    issued_at timestamptz not null
  )`,
];

export const createErasures: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
