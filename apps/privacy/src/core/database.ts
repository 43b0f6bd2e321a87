import type { ColumnType, Kysely, Selectable } from 'kysely';
import type { AuditChainHeadsTable, AuditRecordsTable } from '@meterkeep/audit';
import type { OutboxTable } from '@meterkeep/outbox';
import type { DecommissionRetention } from '@meterkeep/contracts';

/** Written as a Date or ISO string, read back as a Date. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface OccupanciesTable {
  occupancy_id: string;
  tenant_id: string;
  meter_id: string;
  /** The utility's opaque reference to the household (never a name); never on Kafka or in logs. */
  subject_ref: string;
  /** The period is [valid_from, valid_to); an open occupancy has no end. */
  valid_from: Timestamp;
  valid_to: Timestamp | null;
  key_id: string;
  /** domestic | microbusiness: settlement's basis depends on it. */
  consumer_class: ColumnType<string, string | undefined, never>;
  /** When the supply contract was made; null when unknown (read as a new contract). */
  contract_date: ColumnType<Date | null, Date | string | null | undefined, never>;
  created_at: CreatedAt;
}

/** The consent ledger: append-only (a trigger refuses UPDATE, DELETE and TRUNCATE). */
export interface ConsentsTable {
  consent_id: string;
  tenant_id: string;
  occupancy_id: string;
  purpose: string;
  /** supplier | dno | third-party:<id> */
  recipient: string;
  granularity: string;
  basis: string;
  status: string;
  effective_from: Timestamp;
  effective_to: Timestamp | null;
  historical_from: Timestamp | null;
  notice_sent_at: Timestamp | null;
  /** Opaque (channel, script/version, hash of the text shown); never a person's details. */
  evidence_ref: string;
  actor: string;
  /** The policy the entry was decided under, as id@version. */
  policy: string;
  /** 1, 2, 3… per occupancy × purpose × recipient. */
  version: number;
  recorded_at: CreatedAt;
}

export interface DataKeysTable {
  key_id: string;
  tenant_id: string;
  meter_id: string;
  /** The occupancy this key encrypts; null for the meter's own key (periods without an occupancy). */
  occupancy_id: string | null;
  /** The key wrapped under its KEK epoch's key (DataKeyCipher); null once destroyed. Never the plain key. */
  wrapped_key: Buffer | null;
  /** The KEK epoch that wraps it (kek_epochs); 0 is PRIVACY_KEK itself (keys made before epochs). */
  kek_epoch: number;
  /** SHA-256 of the wrapped bytes as they were when it was destroyed (null before, and for older rows). */
  wrapped_key_sha256: Buffer | null;
  /** A retention key's purpose (Art. 17(3)(b)); null for an occupancy's readings key and a meter key. */
  purpose: ColumnType<string | null, string | null | undefined, never>;
  /** A retention key is destroyed automatically from then on; null for every other key. */
  retain_until: ColumnType<Date | null, Date | string | null | undefined, never>;
  created_at: CreatedAt;
  destroyed_at: Timestamp | null;
}

export interface KekEpochsTable {
  epoch: number;
  /** Names the epoch's KEK object outside the database; null for epoch 0 (PRIVACY_KEK itself). */
  ring_ref: string | null;
  opened_at: Timestamp;
  /** When the last live key was re-wrapped away from it; backups taken later hold none under it. */
  retired_at: Timestamp | null;
  /** When its KEK was deleted: nothing wrapped under it opens from then on. */
  destroyed_at: Timestamp | null;
}

/** The release gate's opened interval readings, until their windows are released (release/). */
export interface ReleaseReadingsTable {
  tenant_id: string;
  occupancy_id: string;
  obis: string;
  unit: string;
  interval_start: Timestamp;
  interval_minutes: number;
  quantity: number;
  received_at: CreatedAt;
}

/** When the release gate next plans an occupancy (release/release.repository.ts); null: not until marked. */
export interface ReleaseScheduleTable {
  occupancy_id: string;
  due_at: Timestamp | null;
  /** Counts the marks; a plan moves due_at on only if it read the same generation before planning. */
  generation: ColumnType<string, string | number | undefined, string | number>;
  planned_at: Timestamp | null;
}

export interface ReleasedWindowsTable {
  occupancy_id: string;
  recipient: string;
  purpose: string;
  level: string;
  window_start: Timestamp;
  window_end: Timestamp;
  event_id: string;
  key_id: string;
  released_at: Timestamp;
}

/** A released value recalled: it held readings a back-dated move-out gave to another occupancy. */
export interface ReleaseRecallsTable {
  release_event_id: string;
  tenant_id: string;
  meter_id: string;
  occupancy_id: string;
  recipient: string;
  reason: 'occupancy-backdated';
  /** The recall notice (privacy.release-recalls.v1) that named it. */
  notice_id: string;
  /** The back-dated close and when it was recorded. */
  period_from: Timestamp;
  period_to: Timestamp;
  /** The earliest start and latest end of the release's readings from the close on. */
  readings_from: Timestamp;
  readings_to: Timestamp;
  recalled_at: Timestamp;
}

/** Purpose-scoped keys of released values, wrapped like data keys; null once destroyed. */
export interface ReleaseKeysTable {
  key_id: string;
  tenant_id: string;
  meter_id: string;
  occupancy_id: string;
  recipient: string;
  purpose: string;
  wrapped_key: Buffer | null;
  kek_epoch: number;
  created_at: CreatedAt;
  destroyed_at: Timestamp | null;
  /** SHA-256 of the wrapped bytes, kept when the key is destroyed (the certificate's commitment). */
  wrapped_key_sha256: Buffer | null;
}

/** JSON column: written as JSON text, read back parsed. */
type Json<T> = ColumnType<T, string, string>;

export type ErasureState =
  'REQUESTED' | 'SCOPED' | 'KEYS_DESTROYED' | 'PURGING' | 'CONFIRMING' | 'CERTIFIED' | 'FAILED';

/** An erasure saga (erasures/): advanced step by step, each step committed with its state. */
export interface ErasuresTable {
  erasure_id: string;
  tenant_id: string;
  /** The utility's opaque reference to the household; never on Kafka or in logs. */
  subject_ref: string;
  /** SHA-256 over the sorted occupancy ids and the retentions asked for: one erasure per scope. */
  scope_digest: string;
  state: ErasureState;
  /** The state a FAILED saga stopped in (it resumes there on retry). */
  failed_in: Exclude<ErasureState, 'FAILED' | 'CERTIFIED'> | null;
  last_error: string | null;
  retentions: Json<unknown>;
  scope: Json<unknown> | null;
  keys_destroyed: Json<unknown> | null;
  /** Every audit record the saga appended, as chained (the certificate's chain segment). */
  audit_records: Json<unknown>;
  chain_head_before: Json<unknown> | null;
  fanout_attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp | null;
  actor: string;
  requested_at: Timestamp;
  keys_destroyed_at: Timestamp | null;
  certified_at: Timestamp | null;
  updated_at: Timestamp;
}

export interface ErasureConfirmationsTable {
  erasure_id: string;
  service: string;
  /** Which replica confirmed (a service with many replicas confirms once per replica). */
  instance: string;
  outcome: 'completed' | 'not-applicable' | 'failed';
  detail: string | null;
  event_id: string;
  confirmed_at: Timestamp;
}

export interface ErasureCertificatesTable {
  certificate_id: string;
  erasure_id: string;
  tenant_id: string;
  document: Json<unknown>;
  /** sha256:<hex> of the signed certificate's canonical bytes. */
  digest: string;
  issued_at: Timestamp;
}

/** A tenant's retention period per purpose (retention/). */
export interface RetentionSchedulesTable {
  tenant_id: string;
  purpose: string;
  retain_days: number;
  legal_basis: string;
  reference: string;
  updated_at: Timestamp;
  updated_by: string;
}

/** The retention-expiry job's batch certificates, signed as erasure certificates are. */
export interface RetentionCertificatesTable {
  certificate_id: string;
  tenant_id: string;
  document: ColumnType<unknown, string, never>;
  digest: string;
  issued_at: Timestamp;
}

/** Re-seal jobs of back-dated changes of tenancy (reseal/). */
export interface ResealJobsTable {
  job_id: string;
  tenant_id: string;
  meter_id: string;
  occupancy_id: string;
  reason: 'backdated-close' | 'backdated-open' | 'future-close';
  reseal_from: Timestamp;
  state: ColumnType<'pending' | 'done', 'pending' | 'done' | undefined, 'pending' | 'done'>;
  attempts: ColumnType<number, number | undefined, number>;
  not_before: Timestamp;
  last_error: string | null;
  records_scanned: number | null;
  records_resealed: number | null;
  items_resealed: number | null;
  created_at: CreatedAt;
  completed_at: Timestamp | null;
}

/** What decommissioning a meter does to the occupancy it closes; `erase` when the tenant set nothing. */
export type DecommissionPolicy = 'erase' | 'retain';

export interface DecommissionPoliciesTable {
  tenant_id: string;
  policy: DecommissionPolicy;
  /** With `erase`: [{ purpose, granularity }] kept under retention keys per the tenant's schedules. */
  retentions: ColumnType<DecommissionRetention[], string, string>;
  updated_at: Timestamp;
  updated_by: string;
}

/** Where a meter's sealed records lie on telemetry.readings.v1 (exports/reading-ranges.ts). */
export interface ReadingRangesTable {
  tenant_id: string;
  meter_id: string;
  key_id: string;
  partition: number;
  first_offset: ColumnType<string, string | number, string | number>;
  last_offset: ColumnType<string, string | number, string | number>;
  records: number;
  reading_from: Timestamp;
  reading_to: Timestamp;
}

/** Progress of the readings index's backfill, per partition of telemetry.readings.v1. */
export interface ReadingIndexBackfillTable {
  partition: number;
  stop_offset: ColumnType<string, string | number, string | number>;
  next_offset: ColumnType<string, string | number, string | number>;
  indexed: ColumnType<string, string | number | undefined, string | number>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type ExportState = 'REQUESTED' | 'RUNNING' | 'READY' | 'FAILED' | 'EXPIRED';

/** A subject access export (exports/): a durable job, then an encrypted archive until its link expires. */
export interface ExportsTable {
  export_id: string;
  tenant_id: string;
  subject_ref: string;
  state: ExportState;
  occupancy_ids: Json<string[]>;
  link_ttl_s: number;
  requested_by: string;
  requested_at: CreatedAt;
  attempts: ColumnType<number, number | undefined, number>;
  /** The replica building it and until when; another takes it over once the lease lapses (a crash). */
  lease_owner: string | null;
  lease_until: Timestamp | null;
  object_key: string | null;
  archive_sha256: string | null;
  archive_bytes: ColumnType<string | null, number | null, number | null>;
  /** The archive's one-time key, wrapped under a KEK epoch; null before READY and once expired. */
  wrapped_archive_key: Buffer | null;
  /** The KEK epoch that wrapped it; null: an export made before epochs, wrapped under PRIVACY_KEK. */
  archive_key_epoch: number | null;
  summary: Json<Record<string, unknown>> | null;
  ready_at: Timestamp | null;
  expires_at: Timestamp | null;
  expired_at: Timestamp | null;
  error: string | null;
}

/** A tenant's network cell (feeder or secondary substation) for each meter it assigned: one per meter. */
export interface NetworkCellMembersTable {
  tenant_id: string;
  meter_id: string;
  cell_id: string;
  cell_kind: 'feeder' | 'substation';
  assigned_at: Timestamp;
  assigned_by: string;
}

/** A cell total released to the network operator; one per (cell, level, window). */
export interface NetworkReleasedWindowsTable {
  tenant_id: string;
  cell_id: string;
  level: string;
  window_start: Timestamp;
  window_end: Timestamp;
  event_id: string;
  released_at: Timestamp;
}

/** Per tenant, windows ending at or before this were decided (released or suppressed). */
export interface NetworkReleaseProgressTable {
  tenant_id: string;
  decided_until: Timestamp;
}

/** A tenant's override of the consent policy preset, one row per version (never updated). */
export interface ConsentPoliciesTable {
  tenant_id: string;
  version: number;
  /** The preset it overrides, as id@version. */
  based_on: string;
  /** The PolicyOverride's purposes and time zone (consents/policy/consent-policy.ts). */
  override: Json<Record<string, unknown>>;
  reason: string;
  created_by: string;
  created_at: Timestamp;
}

export interface PrivacyDb {
  consent_policies: ConsentPoliciesTable;
  network_cell_members: NetworkCellMembersTable;
  network_released_windows: NetworkReleasedWindowsTable;
  network_release_progress: NetworkReleaseProgressTable;
  reseal_jobs: ResealJobsTable;
  decommission_policies: DecommissionPoliciesTable;
  reading_ranges: ReadingRangesTable;
  reading_index_backfill: ReadingIndexBackfillTable;
  exports: ExportsTable;
  retention_schedules: RetentionSchedulesTable;
  retention_certificates: RetentionCertificatesTable;
  release_readings: ReleaseReadingsTable;
  released_windows: ReleasedWindowsTable;
  release_recalls: ReleaseRecallsTable;
  release_schedule: ReleaseScheduleTable;
  release_keys: ReleaseKeysTable;
  erasures: ErasuresTable;
  erasure_confirmations: ErasureConfirmationsTable;
  erasure_certificates: ErasureCertificatesTable;
  kek_epochs: KekEpochsTable;
  occupancies: OccupanciesTable;
  data_keys: DataKeysTable;
  consents: ConsentsTable;
  outbox: OutboxTable;
  audit_chain_heads: AuditChainHeadsTable;
  audit_records: AuditRecordsTable;
}

/** The service's database, or a transaction on it: repositories take either. */
export type Executor = Kysely<PrivacyDb>;

export type OccupancyRow = Selectable<OccupanciesTable>;
export type DataKeyRow = Selectable<DataKeysTable>;
export type ConsentRow = Selectable<ConsentsTable>;
export type KekEpochRow = Selectable<KekEpochsTable>;
export type ReleaseKeyRow = Selectable<ReleaseKeysTable>;
export type ErasureRow = Selectable<ErasuresTable>;
export type ResealJobRow = Selectable<ResealJobsTable>;
export type ReadingRangeRow = Selectable<ReadingRangesTable>;
export type ExportRow = Selectable<ExportsTable>;
export type ErasureConfirmationRow = Selectable<ErasureConfirmationsTable>;
