import type { MigrationSet } from '@meterkeep/db';
import { createPrivacyTables } from './0001_create_privacy_tables';

/** Versioned migrations of the privacy schema, applied in name order at start-up. */
export const migrations: MigrationSet = {
  '0001_create_privacy_tables': createPrivacyTables,
};
