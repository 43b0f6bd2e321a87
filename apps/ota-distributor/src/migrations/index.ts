import type { MigrationSet } from '@meterkeep/db';
import { createOtaTables } from './0001_create_ota_tables';
import { createManifests } from './0002_create_manifests';
import { createDeployments } from './0003_create_deployments';
import { createCampaigns } from './0004_create_campaigns';
import { addDeltaFallback } from './0005_add_delta_fallback';
import { addOutboxTraceContext } from './0006_add_outbox_trace_context';
import { campaignExecutions } from './0007_campaign_executions';
import { createAuditRecords } from './0008_create_audit_records';
import { checkInNotifications } from './0009_check_in_notifications';
import { deviceGatewayAndCheckIn } from './0010_device_gateway_and_check_in';
import { deviceHardwareRevision } from './0011_device_hardware_revision';
import { shardedCampaignCounts } from './0012_sharded_campaign_counts';
import { campaignRevertLink } from './0013_campaign_revert_link';
import { shadowRunPhase } from './0014_shadow_run_phase';
import { campaignPlanning } from './0015_campaign_planning';

/** Versioned migrations of the ota-distributor schema, applied in name order at start-up. */
export const migrations: MigrationSet = {
  '0001_create_ota_tables': createOtaTables,
  '0002_create_manifests': createManifests,
  '0003_create_deployments': createDeployments,
  '0004_create_campaigns': createCampaigns,
  '0005_add_delta_fallback': addDeltaFallback,
  '0006_add_outbox_trace_context': addOutboxTraceContext,
  '0007_campaign_executions': campaignExecutions,
  '0008_create_audit_records': createAuditRecords,
  '0009_check_in_notifications': checkInNotifications,
  '0010_device_gateway_and_check_in': deviceGatewayAndCheckIn,
  '0011_device_hardware_revision': deviceHardwareRevision,
  '0012_sharded_campaign_counts': shardedCampaignCounts,
  '0013_campaign_revert_link': campaignRevertLink,
  '0014_shadow_run_phase': shadowRunPhase,
  '0015_campaign_planning': campaignPlanning,
};
