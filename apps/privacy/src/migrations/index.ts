import type { MigrationSet } from '@meterkeep/db';

/** Versioned migrations of the privacy schema, applied in name order at start-up. */
export const migrations: MigrationSet = {};
