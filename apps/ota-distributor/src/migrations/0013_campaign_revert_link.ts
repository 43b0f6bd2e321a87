import { type Kysely, type Migration, sql } from 'kysely';

// A halted campaign names the revert it created: its view shows it, and a meter that finishes
// installing the bad image after the halt joins that revert (spec §6.6: installing ones finish).
const statements = [
  `alter table campaigns add column revert_campaign_id uuid references campaigns (campaign_id)`,
];

export const campaignRevertLink: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
