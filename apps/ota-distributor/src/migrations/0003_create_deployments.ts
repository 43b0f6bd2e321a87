import { type Kysely, type Migration, sql } from 'kysely';

const ACTIVE = `('QUEUED', 'NOTIFIED', 'DOWNLOADING', 'DOWNLOADED', 'VERIFIED', 'INSTALLING', 'REBOOTING', 'CONFIRMING')`;
const STATES = `('QUEUED', 'NOTIFIED', 'DOWNLOADING', 'DOWNLOADED', 'VERIFIED', 'INSTALLING', 'REBOOTING',
  'CONFIRMING', 'SUCCEEDED', 'FAILED', 'REJECTED', 'ROLLED_BACK', 'TIMED_OUT', 'CANCELLED', 'REMOVED',
  'ALREADY_INSTALLED')`;

// Deployments (a manifest to an explicit list of devices), their executions (spec §6.4), what meters
// reported and proved, and the distributor's projection of the device registry it decides on.
const statements = [
  // Fed by enrollment.devices.v1 and device.lifecycle.v1: never written by an operator or a meter,
  // except the manifest digest a meter reports running at check-in.
  `create table devices (
    tenant_id text not null,
    device_id text not null,
    class_id text,
    state text not null check (state in ('ENROLLED', 'ACTIVE', 'SUSPENDED', 'DECOMMISSIONED')),
    state_at timestamptz not null,
    reported_manifest_digest text check (reported_manifest_digest ~ '^[0-9a-f]{64}$'),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, device_id)
  )`,
  `create table deployments (
    deployment_id uuid primary key,
    tenant_id text not null,
    manifest_id uuid not null references manifests (manifest_id),
    manifest_digest text not null,
    class_id text not null,
    sequence_number bigint not null,
    action_type text not null check (action_type in ('soft', 'forced', 'timeforced', 'downloadonly')),
    force_at timestamptz,
    window_starts_at timestamptz,
    window_ends_at timestamptz,
    created_by text not null,
    created_at timestamptz not null default now(),
    check ((action_type = 'timeforced') = (force_at is not null)),
    check ((window_starts_at is null) = (window_ends_at is null))
  )`,
  `create index deployments_by_tenant on deployments (tenant_id, deployment_id)`,
  `create table executions (
    execution_id text primary key,
    tenant_id text not null,
    deployment_id uuid not null references deployments (deployment_id),
    device_id text not null,
    state text not null check (state in ${STATES}),
    attempt integer not null default 1 check (attempt between 1 and 1000),
    failure_code text,
    status_count integer not null default 0,
    version integer not null default 1,
    directive jsonb,
    directive_counter bigint,
    directive_nonce text,
    directive_expires_at timestamptz,
    receipt_digest text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (deployment_id, device_id)
  )`,
  // At most one unfinished execution per device: what a check-in serves, and the concurrency guard of
  // deployment creation.
  `create unique index executions_one_active on executions (tenant_id, device_id) where state in ${ACTIVE}`,
  // A check-in reads the device's latest execution (its ETag changes when that one changes).
  `create index executions_latest on executions (tenant_id, device_id, created_at desc)`,
  `create index executions_by_deployment on executions (deployment_id, device_id)`,
  // Per device, increasing with every new directive (Uptane "rollback (metadata)").
  `create table directive_counters (
    tenant_id text not null,
    device_id text not null,
    counter bigint not null,
    primary key (tenant_id, device_id)
  )`,
  `create table status_reports (
    execution_id text not null references executions (execution_id),
    attempt integer not null,
    seq integer not null,
    state text not null check (state in ${STATES}),
    report_sha256 text not null,
    progress_percent integer,
    failure_code text,
    defer_until timestamptz,
    received_at timestamptz not null,
    primary key (execution_id, attempt, seq)
  )`,
  // Device-signed install receipts: the only way an execution becomes SUCCEEDED.
  `create table receipts (
    execution_id text primary key references executions (execution_id),
    tenant_id text not null,
    device_id text not null,
    receipt_digest text not null check (receipt_digest ~ '^[0-9a-f]{64}$'),
    receipt_body jsonb not null,
    receipt_signature text not null,
    certificate_serial text not null,
    received_at timestamptz not null
  )`,
  `create table installed_firmware (
    tenant_id text not null,
    device_id text not null,
    component text not null,
    version text not null,
    digest text not null,
    manifest_digest text not null,
    sequence_number bigint not null,
    booted_slot text not null check (booted_slot in ('A', 'B')),
    confirmed_at timestamptz not null,
    receipt_digest text not null,
    execution_id text not null,
    primary key (tenant_id, device_id, component)
  )`,
  // The presigned URL last minted per execution and component (signing time), and how often it was
  // asked for since: within the re-issue interval the same URL is answered again, a burst is refused.
  `create table download_grants (
    execution_id text not null references executions (execution_id),
    component text not null,
    issued_at timestamptz not null,
    requests integer not null default 1,
    primary key (execution_id, component)
  )`,
];

export const createDeployments: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
