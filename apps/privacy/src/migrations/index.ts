import type { MigrationSet } from '@meterkeep/db';
import { createPrivacyTables } from './0001_create_privacy_tables';
import { createAuditChainHeads } from './0002_create_audit_chain_heads';
import { createConsents } from './0003_create_consents';
import { createKekEpochs } from './0004_create_kek_epochs';
import { addOutboxTraceContext } from './0005_add_outbox_trace_context';
import { createReleaseGate } from './0006_create_release_gate';
import { createErasures } from './0007_create_erasures';
import { releaseKeysDestroyable } from './0008_release_keys_destroyable';
import { createAuditRecords } from './0009_create_audit_records';
import { createRetentionSchedules } from './0010_create_retention_schedules';
import { createExports } from './0011_create_exports';
import { createReleaseSchedule } from './0012_create_release_schedule';
import { createResealJobs } from './0013_create_reseal_jobs';
import { createDecommissionPolicies } from './0014_create_decommission_policies';
import { createNetworkCells } from './0015_create_network_cells';
import { createConsentPolicies } from './0016_create_consent_policies';
import { addDecommissionRetentions } from './0017_decommission_retentions';
import { addExportArchiveKeyEpoch } from './0018_export_archive_key_epoch';
import { createReleaseRecalls } from './0019_create_release_recalls';
import { createReadingIndexBackfill } from './0020_create_reading_index_backfill';

/** Versioned migrations of the privacy schema, applied in name order at start-up. */
export const migrations: MigrationSet = {
  '0001_create_privacy_tables': createPrivacyTables,
  '0002_create_audit_chain_heads': createAuditChainHeads,
  '0003_create_consents': createConsents,
  '0004_create_kek_epochs': createKekEpochs,
  '0005_add_outbox_trace_context': addOutboxTraceContext,
  '0006_create_release_gate': createReleaseGate,
  '0007_create_erasures': createErasures,
  '0008_release_keys_destroyable': releaseKeysDestroyable,
  '0009_create_audit_records': createAuditRecords,
  '0010_create_retention_schedules': createRetentionSchedules,
  '0011_create_exports': createExports,
  '0012_create_release_schedule': createReleaseSchedule,
  '0013_create_reseal_jobs': createResealJobs,
  '0014_create_decommission_policies': createDecommissionPolicies,
  '0015_create_network_cells': createNetworkCells,
  '0016_create_consent_policies': createConsentPolicies,
  '0017_decommission_retentions': addDecommissionRetentions,
  '0018_export_archive_key_epoch': addExportArchiveKeyEpoch,
  '0019_create_release_recalls': createReleaseRecalls,
  '0020_create_reading_index_backfill': createReadingIndexBackfill,
};
