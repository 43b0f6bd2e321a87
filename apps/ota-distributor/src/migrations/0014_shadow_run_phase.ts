import { type Kysely, type Migration, sql } from 'kysely';

// Shadow run (spec §6 item 3, issue #13): a campaign's twins are its phase 0, before the operator's
// phases 1..64, so they go through the same members, executions, counters and admission; every
// campaign-wide figure leaves phase 0 out.
const statements = [
  `alter table campaign_phases drop constraint campaign_phases_phase_check`,
  `alter table campaign_phases add constraint campaign_phases_phase_check check (phase between 0 and 64)`,
];

export const shadowRunPhase: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
