import { type Logger } from '@meterkeep/observability';
import { Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import { DbError } from './db.errors';
import { assertSchemaName } from './schema-name';

export interface DatabaseOptions {
  /** postgres://user:password@host:port/database[?sslmode=...] */
  url: string;
  /** The service's own schema; every unqualified table name resolves to it and only to it. */
  schema: string;
  pool?: {
    /** Most connections this process holds; 10 unless set. */
    max?: number;
    /** How long to wait for a connection before a query fails; 5 s unless set. */
    connectionTimeoutMs?: number;
  };
  logger?: Logger;
}

/**
 * The connection string with `search_path` pinned to `schema` as a startup option, so it holds on
 * every pooled connection from its first statement (no per-connection SET that could be skipped).
 * Options already in the URL are kept: pg lets the URL's `options` override the Pool config's.
 */
export function withSearchPath(url: string, schema: string): string {
  assertSchemaName(schema);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new DbError(
      'INVALID_DATABASE_URL',
      'The database URL is not a URL (expected postgres://...)',
      undefined,
      {
        cause: error,
      },
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new DbError(
      'INVALID_DATABASE_URL',
      `The database URL must start with postgres:// (got ${parsed.protocol}//)`,
    );
  }
  const existing = parsed.searchParams.get('options');
  if (existing && /search_path/i.test(existing)) {
    throw new DbError(
      'INVALID_DATABASE_URL',
      'The database URL sets search_path itself; the schema option decides it',
    );
  }
  parsed.searchParams.set('options', [existing, `-c search_path=${schema}`].filter(Boolean).join(' '));
  return parsed.toString();
}

/**
 * A Kysely instance over a pg Pool whose connections see only `schema` (one schema per service).
 * The caller owns it: `await db.destroy()` ends the pool.
 */
export function createDatabase<DB>({ url, schema, pool = {}, logger }: DatabaseOptions): Kysely<DB> {
  const pgPool = new Pool({
    connectionString: withSearchPath(url, schema),
    max: pool.max ?? 10,
    connectionTimeoutMillis: pool.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    application_name: schema,
  });
  // An idle client whose server went away emits 'error' on the pool; unhandled, it kills the process.
  pgPool.on('error', (error) => {
    if (logger)
      logger.warn({ err: error, schema }, 'postgres: idle connection failed; the pool will open a new one');
    else
      process.emitWarning(`postgres: idle connection failed (${error.message})`, 'PostgresConnectionWarning');
  });
  return new Kysely<DB>({
    dialect: new PostgresDialect({ pool: pgPool }),
    log: (event) => {
      // SQL text only: parameters may carry personal data or secrets.
      if (event.level === 'error') {
        logger?.debug(
          { err: event.error, sql: event.query.sql, durationMs: event.queryDurationMillis },
          'postgres: query failed',
        );
      }
    },
  });
}
