import { type Kysely, type Migration, sql } from 'kysely';

// Plain DDL, statement by statement: the schema is the search_path, so names are unqualified.
const statements = [
  `create table server_ca (
    id text primary key check (id = 'bootstrap-server-ca'),
    certificate_pem text not null,
    key_ciphertext bytea not null,
    key_iv bytea not null check (length(key_iv) = 12),
    key_tag bytea not null check (length(key_tag) = 16),
    created_at timestamptz not null default now()
  )`,
  // One row per tenant: two replicas creating it at once race on the primary key, and one wins.
  `create table tenant_cas (
    tenant_id text primary key,
    root_certificate_pem text not null,
    root_key_ciphertext bytea not null,
    root_key_iv bytea not null check (length(root_key_iv) = 12),
    root_key_tag bytea not null check (length(root_key_tag) = 16),
    issuing_certificate_pem text not null,
    issuing_key_ciphertext bytea not null,
    issuing_key_iv bytea not null check (length(issuing_key_iv) = 12),
    issuing_key_tag bytea not null check (length(issuing_key_tag) = 16),
    issuing_key_id text not null unique check (issuing_key_id ~ '^[0-9a-f]+$'),
    crl_number bigint not null default 0,
    crl_der bytea,
    crl_next_update timestamptz,
    created_at timestamptz not null default now()
  )`,
  `create table issued_certificates (
    tenant_id text not null references tenant_cas (tenant_id),
    serial text not null check (serial ~ '^[0-9a-f]+$'),
    endpoint_name text not null,
    kind text not null check (kind in ('bootstrap', 'renewal')),
    not_before timestamptz not null,
    not_after timestamptz not null,
    issued_at timestamptz not null default now(),
    revoked_at timestamptz,
    revocation_reason text check (revocation_reason in ('privilegeWithdrawn', 'cessationOfOperation')),
    primary key (tenant_id, serial)
  )`,
  `create index issued_certificates_unrevoked on issued_certificates (tenant_id, endpoint_name)
    where revoked_at is null`,
  `create index issued_certificates_revoked on issued_certificates (tenant_id, not_after)
    where revoked_at is not null`,
  // Lifecycle events already applied: a redelivery changes nothing.
  `create table processed_events (
    event_id uuid primary key,
    processed_at timestamptz not null default now()
  )`,
];

export const createBootstrapTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['processed_events', 'issued_certificates', 'tenant_cas', 'server_ca'])
      await sql.raw(`drop table if exists ${table}`).execute(db);
  },
};
