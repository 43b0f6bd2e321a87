import { type Kysely, type Migration, sql } from 'kysely';

// Hardware-revision strata (spec §6.5): the revision a meter reports at OTA check-in (neither the factory
// bundle nor enrollment's list carries one), kept in the projection so membership stratifies by it at
// start and simulate counts per revision. Null until the meter reports one.
const statements = [
  `alter table devices add column hardware_revision text
     check (hardware_revision ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$')`,
];

export const deviceHardwareRevision: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
