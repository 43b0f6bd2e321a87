import { type Kysely, type Migration, sql } from 'kysely';

// The consent ledger (spec §4.1): one row per change, per occupancy × purpose × recipient, never edited.
// The current state is the latest version; the policy (apps/privacy/src/consents/policy) reads them all.
const statements = [
  // The terms the rules need of an occupancy: settlement's basis follows the consumer class and when
  // the supply contract was made (midnight UTC of its day; null: unknown, read as a new contract).
  `alter table occupancies
    add column consumer_class text not null default 'domestic'
      check (consumer_class in ('domestic', 'microbusiness')),
    add column contract_date timestamptz`,
  `create table consents (
    consent_id text primary key,
    tenant_id text not null,
    occupancy_id text not null references occupancies (occupancy_id),
    purpose text not null check (purpose ~ '^[a-z][a-z0-9-]{0,47}$'),
    recipient text not null check (recipient ~ '^(supplier|dno|third-party:[a-z0-9][a-z0-9-]{0,62})$'),
    granularity text not null check (granularity in ('none', 'monthly', 'daily', 'half-hourly')),
    basis text not null check (basis in
      ('legal-obligation', 'contract', 'consent', 'opt-out-default', 'legitimate-interest')),
    status text not null check (status in ('granted', 'defaulted', 'withdrawn', 'opted-out')),
    effective_from timestamptz not null,
    effective_to timestamptz,
    historical_from timestamptz,
    notice_sent_at timestamptz,
    -- Opaque: channel, script and version, hash of the text shown; never a person's details.
    evidence_ref text not null check (evidence_ref ~ '^(web|app|phone|letter|in-person|api|in-home-display):[a-z0-9][a-z0-9._-]{0,63}/v[0-9]{1,6}/sha256:[0-9a-f]{64}$'),
    actor text not null,
    policy text not null,
    version integer not null check (version > 0),
    recorded_at timestamptz not null default now(),
    unique (tenant_id, occupancy_id, purpose, recipient, version),
    check (effective_to is null or effective_to > effective_from),
    check (historical_from is null or historical_from <= effective_from)
  )`,
  `create index consents_by_tenant_occupancy on consents (tenant_id, occupancy_id, recorded_at)`,
  // Append-only in the database itself, whoever connects: evidence of consent is never rewritten.
  `create function consents_refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception 'consents are append-only: % refused', tg_op using errcode = 'restrict_violation';
    end
  $$`,
  `create trigger consents_append_only before update or delete on consents
    for each row execute function consents_refuse_change()`,
  `create trigger consents_no_truncate before truncate on consents
    for each statement execute function consents_refuse_change()`,
];

export const createConsents: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
