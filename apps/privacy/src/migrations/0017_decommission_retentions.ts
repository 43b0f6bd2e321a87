import { type Kysely, type Migration, sql } from 'kysely';

// The purposes an `erase` decommission policy keeps under retention keys, per the tenant's schedules
// (decommissions/).
const statements = [
  `alter table decommission_policies add column retentions jsonb not null default '[]'::jsonb`,
];

export const addDecommissionRetentions: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
