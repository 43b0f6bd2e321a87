import type { ColumnType, Generated, Kysely, Selectable } from 'kysely';
import type { AuditChainHeadsTable, AuditRecordsTable } from '@meterkeep/audit';
import type { OtaComponentId, OtaExecutionState, signedDirective } from '@meterkeep/contracts';
import type { z } from 'zod';
import type { OutboxTable } from '@meterkeep/outbox';
import type { CampaignState, PhaseState } from '../campaigns/domain/state-machines';

/** Written as a Date or ISO string, read back as a Date. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
/** bigint columns come back from pg as strings; written as numbers. */
type Bytes = ColumnType<string, number, number>;

export interface DeviceClassesTable {
  tenant_id: string;
  class_id: string;
  vendor_id: string;
  max_image_bytes: Bytes;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface UpdateAuthoritiesTable {
  tenant_id: string;
  /** Hex SHA-256 of the public key's SPKI DER. */
  key_id: string;
  /** The public key, PEM (SPKI) as re-encoded here; never a private key. */
  public_key_pem: string;
  registered_at: Timestamp;
  revoked_at: Timestamp | null;
}

export type ImageState = 'pending' | 'verifying' | 'verified' | 'refused';

export interface ImagesTable {
  image_id: string;
  tenant_id: string;
  class_id: string;
  component: OtaComponentId;
  /** As declared by the operator; verified against the bytes before `verified`. */
  sha256: string;
  size: Bytes;
  state: ImageState;
  refusal_code: string | null;
  /** Where the parts are assembled before verification; the object is gone once verified or refused. */
  staging_key: string;
  upload_id: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
  verified_at: Timestamp | null;
}

export type ManifestState = 'accepted' | 'revoked';

/** A component as the accepted manifest names it (the manifest's own shape, spec §5.1). */
export interface ManifestComponentRecord {
  id: OtaComponentId;
  version: string;
  format: string;
  digest: { alg: 'sha-256'; value: string };
  size: number;
  precursorDigest?: { alg: 'sha-256'; value: string };
  resultDigest?: { alg: 'sha-256'; value: string };
  resultSize?: number;
}

export interface ManifestsTable {
  manifest_id: string;
  tenant_id: string;
  /** SHA-256 of the canonical manifest bytes (what was signed). */
  digest: string;
  /** SHA-256 of the exact envelope bytes received: the idempotency key of a re-upload. */
  envelope_sha256: string;
  class_id: string;
  vendor_id: string;
  sequence_number: ColumnType<string, number, number>;
  components: ColumnType<ManifestComponentRecord[], string, string>;
  issued_at: Timestamp;
  expires_at: Timestamp | null;
  /** Where the exact envelope bytes are. */
  object_key: string;
  signer_key_ids: string[];
  state: ManifestState;
  accepted_at: Timestamp;
  revoked_at: Timestamp | null;
}

export interface ManifestComponentsTable {
  tenant_id: string;
  class_id: string;
  component: OtaComponentId;
  sequence_number: ColumnType<string, number, number>;
  manifest_id: string;
}

/** A device's state as enrollment and the lifecycle topic say (the distributor's projection). */
export type DeviceState = 'ENROLLED' | 'ACTIVE' | 'SUSPENDED' | 'DECOMMISSIONED';

export interface DevicesTable {
  tenant_id: string;
  device_id: string;
  /** The device class: enrollment's classId (the factory bundle's), or its `model` for older records. */
  class_id: string | null;
  state: DeviceState;
  /** occurredAt of the event that set `state`: an older event never overrides a newer one. */
  state_at: Timestamp;
  /** The manifest digest the meter last reported running at check-in (or null: "none"). */
  reported_manifest_digest: string | null;
  /** The gateway (data concentrator) enrollment names for the meter; null: it reaches us directly. */
  gateway_id: Generated<string | null>;
  /** When the meter last checked in, recorded coarsely (at most once per OTA_CHECK_IN_RECORD_MINUTES). */
  last_check_in_at: Generated<Date | null>;
  /** The hardware revision the meter last reported at check-in (a membership stratum); null: none yet. */
  hardware_revision: Generated<string | null>;
  updated_at: Timestamp;
}

export type DeploymentActionType = 'soft' | 'forced' | 'timeforced' | 'downloadonly';

export interface DeploymentsTable {
  deployment_id: string;
  tenant_id: string;
  manifest_id: string;
  manifest_digest: string;
  class_id: string;
  sequence_number: ColumnType<string, number, number>;
  action_type: DeploymentActionType;
  force_at: Timestamp | null;
  window_starts_at: Timestamp | null;
  window_ends_at: Timestamp | null;
  /** A full-image manifest of the same release for meters not on the delta's precursor. */
  fallback_manifest_id: string | null;
  created_by: string;
  created_at: CreatedAt;
}

/** The directive last issued for an execution, as signed (JSON of `{ directive, signature }`). */
export type StoredDirective = z.infer<typeof signedDirective>;

export interface ExecutionsTable {
  execution_id: string;
  tenant_id: string;
  deployment_id: string;
  device_id: string;
  state: OtaExecutionState;
  attempt: Generated<number>;
  failure_code: string | null;
  /** Status reports accepted (capped at OTA_MAX_STATUS_REPORTS). */
  status_count: Generated<number>;
  /** Bumped on every change a meter's check-in must see: the ETag covers it. */
  version: Generated<number>;
  directive: ColumnType<StoredDirective | null, string | null, string | null>;
  directive_counter: ColumnType<string | null, number | null, number | null>;
  directive_nonce: string | null;
  directive_expires_at: Timestamp | null;
  receipt_digest: string | null;
  /** The manifest this meter was directed to (the delta or its fallback); null: the deployment's. */
  chosen_manifest_id: string | null;
  /** The campaign and phase of a campaign member's execution; null for a deployment's. */
  campaign_id: ColumnType<string | null, string | null | undefined, string | null>;
  phase: ColumnType<number | null, number | null | undefined, number | null>;
  /** When admission let its directive out (campaign executions only; null: not yet). */
  admitted_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** When the current stage began (set by a trigger): download and install timeouts run from it. */
  stage_entered_at: ColumnType<Date, Date | string | undefined, Date | string>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface DirectiveCountersTable {
  tenant_id: string;
  device_id: string;
  counter: ColumnType<string, number, number>;
}

export interface StatusReportsTable {
  execution_id: string;
  attempt: number;
  seq: number;
  state: OtaExecutionState;
  /** SHA-256 of the report's canonical JSON: the same (attempt, seq) with another body is a conflict. */
  report_sha256: string;
  progress_percent: number | null;
  failure_code: string | null;
  defer_until: Timestamp | null;
  received_at: Timestamp;
}

export interface ReceiptsTable {
  execution_id: string;
  tenant_id: string;
  device_id: string;
  receipt_digest: string;
  /** The receipt as verified, and its base64url DER signature (column names not the wire's). */
  receipt_body: ColumnType<Record<string, unknown>, string, string>;
  receipt_signature: string;
  certificate_serial: string;
  received_at: Timestamp;
}

export interface InstalledFirmwareTable {
  tenant_id: string;
  device_id: string;
  component: OtaComponentId;
  version: string;
  digest: string;
  manifest_digest: string;
  sequence_number: ColumnType<string, number, number>;
  booted_slot: 'A' | 'B';
  confirmed_at: Timestamp;
  receipt_digest: string;
  execution_id: string;
}

export interface DownloadGrantsTable {
  execution_id: string;
  component: OtaComponentId;
  /** The signing time of the URL minted last: the same time signs the same URL again. */
  issued_at: Timestamp;
  /** Requests answered with that URL. */
  requests: Generated<number>;
}

export interface CampaignsTable {
  campaign_id: string;
  tenant_id: string;
  name: string;
  manifest_id: string;
  manifest_digest: string;
  class_id: string;
  sequence_number: ColumnType<string, number, number>;
  state: CampaignState;
  /** The validated create request (target, phases, rollout, abort rules, timeouts, retry, windows). */
  body: ColumnType<unknown, string, string>;
  created_by: string;
  submitted_by: string | null;
  submitted_at: Timestamp | null;
  decided_by: string | null;
  decided_at: Timestamp | null;
  /** Who started it (the planner's events and audit name them). */
  started_by: ColumnType<string | null, string | null | undefined, string | null>;
  halt_reason: ColumnType<unknown, string | null, string | null> | null;
  cancel_mode: ColumnType<
    'graceful' | 'force' | null,
    'graceful' | 'force' | null | undefined,
    'graceful' | 'force' | null
  >;
  /** The revert campaign a halt created (revertOnHalt). */
  revert_campaign_id: ColumnType<string | null, string | null | undefined, string | null>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface CampaignPhasesTable {
  campaign_id: string;
  phase: number;
  name: string;
  size: ColumnType<unknown, string, string>;
  /** numeric comes back from pg as a string. */
  success_threshold_percent: ColumnType<string, number, number>;
  min_soak_minutes: number;
  state: Generated<PhaseState>;
  targets: Generated<number>;
  activated_at: Timestamp | null;
  finished_at: Timestamp | null;
}

/** One slot of a (campaign, phase, state) counter (migration 0012): reads sum the slots. */
export interface CampaignPhaseCountsTable {
  campaign_id: string;
  phase: number;
  state: OtaExecutionState;
  slot: number;
  count: number;
}

export interface CampaignMembersTable {
  campaign_id: string;
  device_id: string;
  phase: number;
  admission_order: number;
  gateway_id: string | null;
  execution_id: string | null;
}

export interface CampaignHaltsTable {
  campaign_id: string;
  rule: number;
  phase: number;
  failed: number;
  executed: number;
  halted_at: Timestamp;
}

/** Each admission of the last hour (migration 0011): the rate's and gateways' sliding windows. */
export interface CampaignAdmissionsTable {
  campaign_id: string;
  execution_id: string;
  gateway_id: string | null;
  /** bigint: pg answers it as a string. */
  bytes: ColumnType<string, number, number>;
  admitted_at: Timestamp;
}

export interface OtaDb {
  campaigns: CampaignsTable;
  campaign_admissions: CampaignAdmissionsTable;
  campaign_phases: CampaignPhasesTable;
  campaign_phase_counts: CampaignPhaseCountsTable;
  campaign_members: CampaignMembersTable;
  campaign_halts: CampaignHaltsTable;
  devices: DevicesTable;
  deployments: DeploymentsTable;
  executions: ExecutionsTable;
  directive_counters: DirectiveCountersTable;
  status_reports: StatusReportsTable;
  receipts: ReceiptsTable;
  installed_firmware: InstalledFirmwareTable;
  download_grants: DownloadGrantsTable;
  device_classes: DeviceClassesTable;
  update_authorities: UpdateAuthoritiesTable;
  images: ImagesTable;
  manifests: ManifestsTable;
  manifest_components: ManifestComponentsTable;
  outbox: OutboxTable;
  audit_chain_heads: AuditChainHeadsTable;
  audit_records: AuditRecordsTable;
}

/** The service's database, or a transaction on it: repositories take either. */
export type Executor = Kysely<OtaDb>;

export type DeviceClassRow = Selectable<DeviceClassesTable>;
export type UpdateAuthorityRow = Selectable<UpdateAuthoritiesTable>;
export type ImageRow = Selectable<ImagesTable>;
export type ManifestRow = Selectable<ManifestsTable>;
export type DeviceRow = Selectable<DevicesTable>;
export type DeploymentRow = Selectable<DeploymentsTable>;
export type CampaignRow = Selectable<CampaignsTable>;
export type CampaignPhaseRow = Selectable<CampaignPhasesTable>;
export type ExecutionRow = Selectable<ExecutionsTable>;
export type InstalledFirmwareRow = Selectable<InstalledFirmwareTable>;
