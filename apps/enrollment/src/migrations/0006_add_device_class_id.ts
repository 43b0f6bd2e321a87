import { type Kysely, type Migration, sql } from 'kysely';

// The device class the factory wrote into the meter's bundle (enrollment lists' class_id): published
// on enrollment.devices.v1 so the OTA distributor matches manifests to it. Null for earlier rows.
const statements = [
  `alter table devices add column class_id text
     check (class_id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$')`,
];

export const addDeviceClassId: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
