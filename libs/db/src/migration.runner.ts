import { inspect } from 'node:util';
import { type Logger } from '@meterkeep/observability';
import { type Kysely, type Migration, type MigrationResult, Migrator } from 'kysely';
import { createDatabase, type DatabaseOptions } from './database.factory';
import { DbError } from './db.errors';
import { assertSchemaName } from './schema-name';

export type { Migration } from 'kysely';

/** Versioned names, applied in name order: `0001_create_devices`, `0002_add_device_state`. */
export type MigrationSet = Record<string, Migration>;

export interface RunMigrationsOptions {
  schema: string;
  migrations: MigrationSet;
  logger?: Logger;
}

const MIGRATION_NAME = /^\d{4}_[a-z0-9_]+$/;

/**
 * Applies every pending migration, in name order, and returns the names it applied ([] when none).
 *
 * The schema is created when missing and holds the migration tables. On PostgreSQL, Kysely runs
 * the whole pending batch in one transaction while holding a session advisory lock: a replica that
 * starts at the same time waits, then finds nothing pending; a failing migration rolls the batch
 * back, so nothing is left half-applied. The advisory lock id is Kysely's constant, so migrations
 * of different schemas in one database also run one after another.
 */
export async function runMigrations<DB>(
  db: Kysely<DB>,
  { schema, migrations, logger }: RunMigrationsOptions,
): Promise<string[]> {
  assertSchemaName(schema);
  const badNames = Object.keys(migrations).filter((name) => !MIGRATION_NAME.test(name));
  if (badNames.length > 0) {
    throw new DbError(
      'INVALID_MIGRATION_NAME',
      `Migration names must look like 0001_create_devices; rejected: ${badNames.join(', ')}`,
    );
  }

  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
    migrationTableSchema: schema,
  });
  const { error, results = [] } = await migrator.migrateToLatest();

  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : inspect(error);
    const message = failed
      ? `Migration ${failed} failed in schema ${schema}; its batch was rolled back: ${reason}`
      : `Migrating schema ${schema} failed before any migration ran: ${reason}`;
    logger?.error({ err: error, schema, migration: failed }, 'postgres: migration failed');
    throw new DbError('MIGRATION_FAILED', message, failed, { cause: error });
  }

  const applied = results
    .filter((result: MigrationResult) => result.status === 'Success')
    .map((r) => r.migrationName);
  if (applied.length > 0) logger?.info({ schema, applied }, 'postgres: migrations applied');
  return applied;
}

/** What a `migrate` command runs: connect, apply what is pending, disconnect. */
export async function migrateDatabase(
  options: Omit<DatabaseOptions, 'pool'> & { migrations: MigrationSet },
): Promise<string[]> {
  const db = createDatabase<unknown>({ ...options, pool: { max: 2 } });
  try {
    return await runMigrations(db, options);
  } finally {
    await db.destroy();
  }
}
