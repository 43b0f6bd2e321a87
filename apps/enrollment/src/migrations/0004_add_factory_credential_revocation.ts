import { type Kysely, type Migration, sql } from 'kysely';

// An operator may revoke a meter's factory credential (bootstrap then refuses it) until it is
// rotated. A revoked PSK is destroyed but its digest kept, so the same key cannot be enrolled again.
const statements = [`alter table devices add column credential_revoked_at timestamptz`];

export const addFactoryCredentialRevocation: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
