import { type Kysely, type Migration, sql } from 'kysely';

// KEK epochs (key-epochs/kek-ring.ts): each data key records the epoch whose KEK wraps it. Epoch 0 is
// PRIVACY_KEK itself, which wrapped every key made before this migration; the first rotation moves them
// to epoch 1. Epoch KEKs live outside PostgreSQL (one S3 object each, named by ring_ref), so a backup of
// this schema never holds what unwraps its keys once the epoch is destroyed.
const statements = [
  `create table kek_epochs (
    epoch integer primary key check (epoch >= 0),
    ring_ref text unique,
    opened_at timestamptz not null,
    retired_at timestamptz,
    destroyed_at timestamptz,
    check ((epoch = 0) = (ring_ref is null)),
    check (destroyed_at is null or retired_at is not null)
  )`,
  `insert into kek_epochs (epoch, opened_at) values (0, now())`,
  `alter table data_keys add column kek_epoch integer not null default 0 references kek_epochs (epoch)`,
  // Every new key names its epoch: no default once the existing rows are epoch 0.
  `alter table data_keys alter column kek_epoch drop default`,
  // At destruction, SHA-256 of the last wrapped bytes (the erasure certificate's commitment): an auditor
  // can tell that a restored backup row is the erased key without anyone revealing it.
  `alter table data_keys add column wrapped_key_sha256 bytea
    check (wrapped_key_sha256 is null or destroyed_at is not null)`,
  // Rotation looks for live keys outside the current epoch.
  `create index data_keys_live_by_epoch on data_keys (kek_epoch, key_id) where wrapped_key is not null`,
];

export const createKekEpochs: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
