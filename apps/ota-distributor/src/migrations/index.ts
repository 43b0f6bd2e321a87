import type { MigrationSet } from '@meterkeep/db';
import { createOtaTables } from './0001_create_ota_tables';

/** Versioned migrations of the ota-distributor schema, applied in name order at start-up. */
export const migrations: MigrationSet = {
  '0001_create_ota_tables': createOtaTables,
};
