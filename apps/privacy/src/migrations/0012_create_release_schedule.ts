import { type Kysely, type Migration, sql } from 'kysely';

// When the release gate must next plan an occupancy (release/release-schedule.ts): a pass plans only the
// occupancies due, instead of every occupancy with readings in the look-back. Marked due in the same
// transaction as what could change a plan (readings staged, a consent change, a closure, a key destroyed);
// set by each plan to when its next window closes. `generation` counts the marks: a plan only moves
// `due_at` on if no mark came in while it ran (several replicas, a reading staged meanwhile).
const statements = [
  `create table release_schedule (
    occupancy_id text primary key references occupancies (occupancy_id),
    due_at timestamptz,
    generation bigint not null default 0,
    planned_at timestamptz
  )`,
  `create index release_schedule_due on release_schedule (due_at) where due_at is not null`,
  // Every occupancy with staged readings is planned once by the first pass after the upgrade.
  `insert into release_schedule (occupancy_id, due_at)
     select distinct occupancy_id, now() from release_readings`,
];

export const createReleaseSchedule: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
