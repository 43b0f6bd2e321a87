export type DbErrorCode =
  'INVALID_SCHEMA_NAME' | 'INVALID_DATABASE_URL' | 'INVALID_MIGRATION_NAME' | 'MIGRATION_FAILED';

/** The one error type of this library; `code` says what went wrong without parsing the message. */
export class DbError extends Error {
  constructor(
    readonly code: DbErrorCode,
    message: string,
    /** The migration that failed, for MIGRATION_FAILED raised by a migration itself. */
    readonly migrationName?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'DbError';
  }
}
