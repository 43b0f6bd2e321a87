import { type Kysely, type Migration, sql } from 'kysely';

// Plain DDL, statement by statement: the schema (`ota`) is the search_path, so names are
// unqualified. Every row names its tenant; every read is scoped by it.
const statements = [
  // A tenant's device classes: the vendor a class belongs to and the largest image it takes.
  `create table device_classes (
    tenant_id text not null,
    class_id text not null,
    vendor_id text not null,
    max_image_bytes bigint not null check (max_image_bytes > 0),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, class_id)
  )`,
  // The tenant's update authorities: P-256 public keys (never private ones) manifests are signed with.
  // key_id is the hex SHA-256 of the SPKI DER; a revoked key stays, so it can never come back.
  `create table update_authorities (
    tenant_id text not null,
    key_id text not null check (key_id ~ '^[0-9a-f]{64}$'),
    public_key_pem text not null check (public_key_pem like '-----BEGIN PUBLIC KEY-----%'),
    registered_at timestamptz not null default now(),
    revoked_at timestamptz,
    primary key (tenant_id, key_id)
  )`,
  // Firmware images: declared (pending), parts being checked (verifying), then verified or refused.
  // Verified bytes live at tenants/<t>/firmware/classes/<c>/images/<sha256>; the staging key holds
  // them only between upload and verification.
  `create table images (
    image_id uuid primary key,
    tenant_id text not null,
    class_id text not null,
    component text not null,
    sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    size bigint not null check (size > 0),
    state text not null check (state in ('pending', 'verifying', 'verified', 'refused')),
    refusal_code text,
    staging_key text not null unique,
    upload_id text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    verified_at timestamptz,
    foreign key (tenant_id, class_id) references device_classes (tenant_id, class_id),
    check ((state = 'verified') = (verified_at is not null)),
    check ((state = 'refused') = (refusal_code is not null))
  )`,
  `create index images_by_digest on images (tenant_id, class_id, component, sha256, created_at)
    where state = 'verified'`,
  // Events written in the transaction of the change they describe; the relay publishes them in id order.
  `create table outbox (
    id bigserial primary key,
    topic text not null,
    payload jsonb not null,
    created_at timestamptz not null default now()
  )`,
  // Each tenant's audit chain head (@meterkeep/audit); the distributor's chain is its own.
  `create table audit_chain_heads (
    tenant_id text primary key,
    sequence bigint not null,
    digest text not null
  )`,
];

export const createOtaTables: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
