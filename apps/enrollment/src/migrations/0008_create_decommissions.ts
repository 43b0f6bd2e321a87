import { type Kysely, type Migration, sql } from 'kysely';

// Decommissioning sagas (one per meter: a decommissioned meter never comes back) and each service's
// confirmation of its step; the signed decommission record once every step is confirmed.
const statements = [
  `create table decommissions (
    decommission_id text primary key,
    tenant_id text not null,
    endpoint_name text not null,
    state text not null check (state in ('CONFIRMING', 'RECORDED')),
    requested_by text not null,
    requested_at timestamptz not null,
    credential_kind text not null,
    attempt integer not null default 1,
    next_attempt_at timestamptz not null,
    record jsonb,
    record_digest text,
    audit_sequence bigint,
    recorded_at timestamptz,
    unique (tenant_id, endpoint_name)
  )`,
  `create index decommissions_due on decommissions (next_attempt_at) where state = 'CONFIRMING'`,
  `create table decommission_confirmations (
    decommission_id text not null references decommissions (decommission_id),
    service text not null,
    instance text not null,
    outcome text not null,
    attempt integer not null,
    detail text,
    facts jsonb,
    event_id text not null,
    confirmed_at timestamptz not null,
    primary key (decommission_id, service)
  )`,
];

export const createDecommissions: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
