import { DbError } from './db.errors';

// Lowercase unquoted identifiers only: the name is spliced into connection options and DDL, so a
// strict allow-list is the injection defence. 63 bytes is PostgreSQL's identifier limit.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Throws unless `schema` is a service schema name PostgreSQL takes as-is (e.g. `enrollment`). */
export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new DbError(
      'INVALID_SCHEMA_NAME',
      `Invalid schema name ${JSON.stringify(schema)}: use a lowercase identifier (a-z, 0-9, _; not starting with a digit; at most 63 characters)`,
    );
  }
  // pg_* is reserved for system schemas; public and information_schema are shared by everyone.
  if (schema.startsWith('pg_') || schema === 'public' || schema === 'information_schema') {
    throw new DbError(
      'INVALID_SCHEMA_NAME',
      `Schema name ${JSON.stringify(schema)} is reserved; use the service's own schema`,
    );
  }
}
