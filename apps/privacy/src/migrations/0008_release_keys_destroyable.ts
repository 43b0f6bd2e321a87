import { type Kysely, type Migration, sql } from 'kysely';

// Release keys are destroyed (withdrawal of a purpose, erasure) keeping a commitment to their wrapped
// bytes as data keys do; a purpose granted again after its key went gets a new key, so only one live
// key per (occupancy, recipient, purpose) is unique.
const statements = [
  `alter table release_keys add column wrapped_key_sha256 bytea`,
  `alter table release_keys drop constraint release_keys_occupancy_id_recipient_purpose_key`,
  `create unique index release_keys_live on release_keys (occupancy_id, recipient, purpose)
     where destroyed_at is null`,
];

export const releaseKeysDestroyable: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
