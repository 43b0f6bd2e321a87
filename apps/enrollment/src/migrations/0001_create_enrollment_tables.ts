import { type Kysely, type Migration, sql } from 'kysely';

// Plain DDL, statement by statement: the schema is the search_path, so names are unqualified.
const statements = [
  `create table tenants (
    tenant_id text primary key check (tenant_id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name text not null check (length(name) between 1 and 200),
    created_at timestamptz not null default now()
  )`,
  `create table api_keys (
    key_id text primary key,
    tenant_id text not null references tenants (tenant_id),
    role text not null check (role in ('admin', 'operator', 'auditor')),
    name text,
    secret_sha256 bytea not null check (length(secret_sha256) = 32),
    created_by text not null,
    created_at timestamptz not null default now(),
    revoked_at timestamptz
  )`,
  `create index api_keys_by_tenant on api_keys (tenant_id, created_at)`,
  `create table manufacturer_cas (
    ca_id text primary key,
    tenant_id text not null references tenants (tenant_id),
    fingerprint_sha256 text not null,
    subject text not null,
    certificate_pem text not null,
    not_after timestamptz not null,
    status text not null check (status in ('PENDING_VERIFICATION', 'TRUSTED', 'DISABLED')),
    verification_code_sha256 bytea,
    verification_expires_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    verified_at timestamptz,
    disabled_at timestamptz,
    unique (tenant_id, fingerprint_sha256)
  )`,
  `create table devices (
    endpoint_name text primary key,
    tenant_id text not null references tenants (tenant_id),
    credential_kind text not null check (credential_kind in ('certificate', 'psk')),
    certificate_fingerprint text check (certificate_fingerprint ~ '^[0-9a-f]{64}$'),
    psk_identity text,
    psk_key_ciphertext bytea,
    psk_key_iv bytea,
    psk_key_tag bytea,
    psk_key_digest bytea,
    model text,
    batch_id text,
    state text not null check (state in ('MANUFACTURED', 'ENROLLED', 'ACTIVE', 'SUSPENDED', 'DECOMMISSIONED')),
    claim_expires_at timestamptz,
    operational_certificate_serial text,
    last_upload_id uuid,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (
      (credential_kind = 'certificate' and certificate_fingerprint is not null and psk_identity is null
        and psk_key_ciphertext is null)
      or (credential_kind = 'psk' and psk_identity is not null and certificate_fingerprint is null)
    )
  )`,
  // A PSK identity names one meter platform-wide: bootstrap finds the key by it.
  `create unique index devices_psk_identity on devices (psk_identity) where psk_identity is not null`,
  `create index devices_by_tenant on devices (tenant_id, endpoint_name)`,
  `create index devices_by_tenant_state on devices (tenant_id, state, endpoint_name)`,
  `create index devices_by_tenant_batch on devices (tenant_id, batch_id, endpoint_name)`,
  `create table enrollment_uploads (
    upload_id uuid primary key,
    tenant_id text not null references tenants (tenant_id),
    format text not null,
    actor text not null,
    accepted integer not null,
    unchanged integer not null,
    rejected integer not null,
    rejected_rows jsonb not null,
    started_at timestamptz not null,
    finished_at timestamptz not null
  )`,
  `create index enrollment_uploads_by_tenant on enrollment_uploads (tenant_id, started_at)`,
  // Events written in the transaction of the change they describe; the relay publishes them in id order.
  `create table outbox (
    id bigserial primary key,
    topic text not null,
    payload jsonb not null,
    created_at timestamptz not null default now()
  )`,
  `create table audit_chain_heads (
    tenant_id text primary key,
    sequence bigint not null,
    digest text not null
  )`,
  `create table processed_events (
    event_id uuid primary key,
    processed_at timestamptz not null default now()
  )`,
];

export const createEnrollmentTables: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
