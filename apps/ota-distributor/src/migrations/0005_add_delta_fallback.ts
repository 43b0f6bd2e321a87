import { type Kysely, type Migration, sql } from 'kysely';

// A deployment of a delta may name a full-image fallback of the same release (THREAT.UPD.WRONG_PRECURSOR):
// each execution records which of the two its meter was directed to, so the directive, the manifest
// route, the download URL and the receipt all name the same manifest.
const statements = [
  `alter table deployments add column fallback_manifest_id uuid references manifests (manifest_id)`,
  `alter table executions add column chosen_manifest_id uuid references manifests (manifest_id)`,
];

export const addDeltaFallback: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
