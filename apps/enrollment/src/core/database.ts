import type { ColumnType, Generated, Kysely, Selectable } from 'kysely';
import type { AuditChainHeadsTable, AuditRecordsTable } from '@meterkeep/audit';
import type { Role } from '@meterkeep/service-runtime';
import type { DeviceState } from '../devices/device-state-machine';
import type { OutboxTable } from '@meterkeep/outbox';

/** Written as a Date or ISO string, read back as a Date. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
/** jsonb: written as JSON text (pg would turn a JS array into a PostgreSQL array), read back parsed. */
type Json = ColumnType<unknown, string, string>;

export interface TenantsTable {
  tenant_id: string;
  name: string;
  created_at: CreatedAt;
}

export interface ApiKeysTable {
  key_id: string;
  tenant_id: string;
  role: Role;
  name: string | null;
  /** SHA-256 of the key's secret part; the secret itself is never stored. */
  secret_sha256: Buffer;
  created_by: string;
  created_at: CreatedAt;
  revoked_at: Timestamp | null;
}

export type ManufacturerCaStatus = 'PENDING_VERIFICATION' | 'TRUSTED' | 'DISABLED';

export interface ManufacturerCasTable {
  ca_id: string;
  tenant_id: string;
  fingerprint_sha256: string;
  subject: string;
  certificate_pem: string;
  not_after: Timestamp;
  status: ManufacturerCaStatus;
  /** SHA-256 of the proof-of-possession code; null once verified. */
  verification_code_sha256: Buffer | null;
  verification_expires_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
  verified_at: Timestamp | null;
  disabled_at: Timestamp | null;
}

export type CredentialKind = 'certificate' | 'psk';

export interface DevicesTable {
  /** A meter belongs to at most one tenant. */
  endpoint_name: string;
  tenant_id: string;
  credential_kind: CredentialKind;
  certificate_fingerprint: string | null;
  psk_identity: string | null;
  /** AES-256-GCM under ENROLLMENT_PSK_KEK; wiped on decommission. */
  psk_key_ciphertext: Buffer | null;
  psk_key_iv: Buffer | null;
  psk_key_tag: Buffer | null;
  /** HMAC of the key under a KEK-derived key: tells an identical re-upload without decrypting. */
  psk_key_digest: Buffer | null;
  model: string | null;
  /** The device class of the factory bundle (enrollment list's class_id); null for rows from before it. */
  class_id: ColumnType<string | null, string | null | undefined, string | null>;
  batch_id: string | null;
  state: DeviceState;
  claim_expires_at: Timestamp | null;
  operational_certificate_serial: string | null;
  /** The gateway (data concentrator) allowed to post this meter's readings: a device of the same tenant. */
  gateway_id: ColumnType<string | null, string | null | undefined, string | null>;
  last_upload_id: string | null;
  /** When an operator revoked the factory credential (bootstrap refuses it); null while accepted. */
  credential_revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface EnrollmentUploadsTable {
  upload_id: string;
  tenant_id: string;
  format: 'csv' | 'ndjson';
  actor: string;
  accepted: number;
  unchanged: number;
  rejected: number;
  rejected_rows: Json;
  started_at: Timestamp;
  finished_at: Timestamp;
}

export interface ProcessedEventsTable {
  event_id: string;
  processed_at: CreatedAt;
}

export type DecommissionState = 'CONFIRMING' | 'RECORDED';

export interface DecommissionsTable {
  decommission_id: string;
  tenant_id: string;
  endpoint_name: string;
  state: DecommissionState;
  requested_by: string;
  requested_at: Timestamp;
  credential_kind: CredentialKind;
  attempt: Generated<number>;
  next_attempt_at: Timestamp;
  /** The signed decommission record (jsonb), once every step is confirmed. */
  record: ColumnType<unknown, string | null | undefined, string | null>;
  record_digest: string | null;
  audit_sequence: ColumnType<string | null, number | null | undefined, number | null>;
  recorded_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface DecommissionConfirmationsTable {
  decommission_id: string;
  service: string;
  instance: string;
  outcome: 'completed' | 'not-applicable' | 'pending' | 'failed';
  attempt: number;
  detail: string | null;
  facts: ColumnType<unknown, string | null, string | null>;
  event_id: string;
  confirmed_at: Timestamp;
}

export interface EnrollmentDb {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  manufacturer_cas: ManufacturerCasTable;
  devices: DevicesTable;
  enrollment_uploads: EnrollmentUploadsTable;
  outbox: OutboxTable;
  audit_chain_heads: AuditChainHeadsTable;
  audit_records: AuditRecordsTable;
  processed_events: ProcessedEventsTable;
  decommissions: DecommissionsTable;
  decommission_confirmations: DecommissionConfirmationsTable;
}

/** The service's database, or a transaction on it: repositories take either. */
export type Executor = Kysely<EnrollmentDb>;

export type DeviceRow = Selectable<DevicesTable>;
export type ManufacturerCaRow = Selectable<ManufacturerCasTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type DecommissionRow = Selectable<DecommissionsTable>;
export type DecommissionConfirmationRow = Selectable<DecommissionConfirmationsTable>;
