import { type Kysely, type Migration, sql } from 'kysely';

// Retention schedules (retention/): per tenant and purpose, how long a retention key made by an erasure
// lives, and the legal basis the tenant states. The expiry job's signed batch certificates beside them.
const statements = [
  `create table retention_schedules (
    tenant_id text not null,
    purpose text not null,
    retain_days integer not null check (retain_days between 1 and 36500),
    legal_basis text not null,
    reference text not null,
    updated_at timestamptz not null,
    updated_by text not null,
    primary key (tenant_id, purpose)
  )`,
  `create table retention_certificates (
    certificate_id text primary key,
    tenant_id text not null,
    document jsonb not null,
    digest text not null,
    issued_at timestamptz not null
  )`,
  `create index retention_certificates_by_tenant on retention_certificates (tenant_id, issued_at)`,
];

export const createRetentionSchedules: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
