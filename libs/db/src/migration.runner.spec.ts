import { type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { runMigrations } from './migration.runner';

const noop = { up: async () => {} };
// Names are checked before the database is touched, so no connection is needed here.
const db = {} as Kysely<unknown>;

describe('runMigrations', () => {
  it('rejects names that would not sort by version', async () => {
    await expect(
      runMigrations(db, { schema: 'svc', migrations: { '1_init': noop, '0002_next': noop } }),
    ).rejects.toMatchObject({
      code: 'INVALID_MIGRATION_NAME',
      message: expect.stringContaining('1_init'),
    });
  });

  it('rejects an invalid schema name', async () => {
    await expect(
      runMigrations(db, { schema: 'Svc', migrations: { '0001_init': noop } }),
    ).rejects.toMatchObject({
      code: 'INVALID_SCHEMA_NAME',
    });
  });
});
