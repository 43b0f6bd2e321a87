import { type Kysely, type Migration, sql } from 'kysely';

// An export's one-time archive key is wrapped under a KEK epoch, as data keys are (key-epochs/): a backup
// taken while its link was live no longer opens the archive once that epoch is destroyed. Rows from before
// stay null (wrapped under PRIVACY_KEK) and lapse with their link.
const statements = [
  `alter table exports add column archive_key_epoch integer`,
  `create index exports_archive_key_epoch on exports (archive_key_epoch) where wrapped_archive_key is not null`,
];

export const addExportArchiveKeyEpoch: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
