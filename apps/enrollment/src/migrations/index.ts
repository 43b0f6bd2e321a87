import type { MigrationSet } from '@meterkeep/db';
import { createEnrollmentTables } from './0001_create_enrollment_tables';
import { addDeviceGateways } from './0002_add_device_gateways';
import { scopeDevicesToTenant } from './0003_scope_devices_to_tenant';
import { addFactoryCredentialRevocation } from './0004_add_factory_credential_revocation';
import { addOutboxTraceContext } from './0005_add_outbox_trace_context';
import { addDeviceClassId } from './0006_add_device_class_id';
import { createAuditRecords } from './0007_create_audit_records';
import { createDecommissions } from './0008_create_decommissions';

/** Versioned migrations of the enrollment schema, applied in name order at start-up. */
export const migrations: MigrationSet = {
  '0001_create_enrollment_tables': createEnrollmentTables,
  '0002_add_device_gateways': addDeviceGateways,
  '0003_scope_devices_to_tenant': scopeDevicesToTenant,
  '0004_add_factory_credential_revocation': addFactoryCredentialRevocation,
  '0005_add_outbox_trace_context': addOutboxTraceContext,
  '0006_add_device_class_id': addDeviceClassId,
  '0007_create_audit_records': createAuditRecords,
  '0008_create_decommissions': createDecommissions,
};
