import { type Kysely, type Migration, sql } from 'kysely';

// Starting a campaign plans it in the background (issue #13: a million targets take minutes, longer than
// any ingress lets a request live): the start commits PLANNING and who asked, the planner commits the
// plan. The states are listed here, not taken from the code, so this migration means the same forever.
const states = [
  'DRAFT',
  'PENDING_APPROVAL',
  'APPROVED',
  'PLANNING',
  'DENIED',
  'SCHEDULED',
  'RUNNING',
  'PAUSED',
  'HALTED',
  'CANCELLING',
  'CANCELLED',
  'COMPLETED',
];
const statements = [
  `alter table campaigns drop constraint campaigns_state_check`,
  `alter table campaigns add constraint campaigns_state_check
     check (state in (${states.map((s) => `'${s}'`).join(', ')}))`,
  `alter table campaigns add column started_by text`,
];

export const campaignPlanning: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
