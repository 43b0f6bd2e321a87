import type { MigrationSet } from '@meterkeep/db';
import { createBootstrapTables } from './0001_create_bootstrap_tables';

/** Versioned migrations of the bootstrap schema, applied in name order at start-up. */
export const migrations: MigrationSet = {
  '0001_create_bootstrap_tables': createBootstrapTables,
};
