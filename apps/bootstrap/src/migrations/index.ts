import type { MigrationSet } from '@meterkeep/db';
import { createBootstrapTables } from './0001_create_bootstrap_tables';
import { indexIssuedCertificatesByDevice } from './0002_index_issued_certificates_by_device';

/** Versioned migrations of the bootstrap schema, applied in name order at start-up. */
export const migrations: MigrationSet = {
  '0001_create_bootstrap_tables': createBootstrapTables,
  '0002_index_issued_certificates_by_device': indexIssuedCertificatesByDevice,
};
