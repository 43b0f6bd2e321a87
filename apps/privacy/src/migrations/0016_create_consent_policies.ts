import { type Kysely, type Migration, sql } from 'kysely';

// Tenants' overrides of the consent policy preset (consents/consent-policies.ts): one row per version,
// never changed (a change is a new version), so a ledger entry's policy (id@version) always resolves to
// the rules it was decided under. A tenant with no row runs the preset.
const statements = [
  `create table consent_policies (
    tenant_id text not null,
    version integer not null check (version >= 1),
    based_on text not null,
    override jsonb not null,
    reason text not null,
    created_by text not null,
    created_at timestamptz not null,
    primary key (tenant_id, version)
  )`,
];

export const createConsentPolicies: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
