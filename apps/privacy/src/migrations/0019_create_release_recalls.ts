import { type Kysely, type Migration, sql } from 'kysely';

// Recalls of released values (release/release-recall.ts): a back-dated move-out makes readings from the
// close on the next occupant's; each value the gate had already released that held any of them is
// recalled once (the primary key: a close or job run again recalls nothing twice). Kept like
// released_windows (no values): the old occupant's export marks the release recalled, the next
// occupant's lists it as released under another consent, by meter and the readings' time bounds.
const statements = [
  `create table release_recalls (
    release_event_id uuid primary key references released_windows (event_id),
    tenant_id text not null,
    meter_id text not null,
    occupancy_id text not null references occupancies (occupancy_id),
    recipient text not null,
    reason text not null check (reason in ('occupancy-backdated')),
    notice_id uuid not null,
    period_from timestamptz not null,
    period_to timestamptz not null,
    readings_from timestamptz not null,
    readings_to timestamptz not null check (readings_to > readings_from),
    recalled_at timestamptz not null
  )`,
  `create index release_recalls_by_meter on release_recalls (tenant_id, meter_id, readings_from)`,
];

export const createReleaseRecalls: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
