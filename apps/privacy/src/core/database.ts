import type { ColumnType, Kysely, Selectable } from 'kysely';
import type { AuditChainHeadsTable } from '@meterkeep/audit';
import type { OutboxTable } from '@meterkeep/outbox';

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
  created_at: CreatedAt;
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

export interface PrivacyDb {
  kek_epochs: KekEpochsTable;
  occupancies: OccupanciesTable;
  data_keys: DataKeysTable;
  outbox: OutboxTable;
  audit_chain_heads: AuditChainHeadsTable;
}

/** The service's database, or a transaction on it: repositories take either. */
export type Executor = Kysely<PrivacyDb>;

export type OccupancyRow = Selectable<OccupanciesTable>;
export type DataKeyRow = Selectable<DataKeysTable>;
export type KekEpochRow = Selectable<KekEpochsTable>;
