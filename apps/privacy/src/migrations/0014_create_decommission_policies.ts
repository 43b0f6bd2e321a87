import { type Kysely, type Migration, sql } from 'kysely';

// Per tenant, what decommissioning a meter does to the occupancy it closes (decommissions/): erase (the
// default, when no row exists) or retain. Numbered 0014: 0011-0013 are taken by parallel work.
const statements = [
  `create table decommission_policies (
    tenant_id text primary key,
    policy text not null check (policy in ('erase', 'retain')),
    updated_at timestamptz not null,
    updated_by text not null
  )`,
];

export const createDecommissionPolicies: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
