import type { ColumnType, Kysely, Selectable } from 'kysely';
import type { AuditChainHeadsTable } from '@meterkeep/audit';
import type { OtaComponentId } from '@meterkeep/contracts';
import type { OutboxTable } from '@meterkeep/outbox';

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

export interface OtaDb {
  device_classes: DeviceClassesTable;
  update_authorities: UpdateAuthoritiesTable;
  images: ImagesTable;
  manifests: ManifestsTable;
  manifest_components: ManifestComponentsTable;
  outbox: OutboxTable;
  audit_chain_heads: AuditChainHeadsTable;
}

/** The service's database, or a transaction on it: repositories take either. */
export type Executor = Kysely<OtaDb>;

export type DeviceClassRow = Selectable<DeviceClassesTable>;
export type UpdateAuthorityRow = Selectable<UpdateAuthoritiesTable>;
export type ImageRow = Selectable<ImagesTable>;
export type ManifestRow = Selectable<ManifestsTable>;
