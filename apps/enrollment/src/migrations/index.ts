import type { MigrationSet } from '@meterkeep/db';

/** Versioned migrations of the enrollment schema, applied in name order at start-up. */
export const migrations: MigrationSet = {};
