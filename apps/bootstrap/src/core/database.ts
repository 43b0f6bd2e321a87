import type { ColumnType, Kysely, Selectable } from 'kysely';

/** Written as a Date or ISO string, read back as a Date. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

/** The platform's bootstrap server CA (one row): it certifies the device listener's TLS certificate. */
export interface ServerCaTable {
  id: string;
  certificate_pem: string;
  /** AES-256-GCM under BOOTSTRAP_KEK; the key never leaves the process in the clear. */
  key_ciphertext: Buffer;
  key_iv: Buffer;
  key_tag: Buffer;
  created_at: CreatedAt;
}

/** A tenant's operational PKI: a root and the issuing CA under it, created on its first bootstrap. */
export interface TenantCasTable {
  tenant_id: string;
  root_certificate_pem: string;
  root_key_ciphertext: Buffer;
  root_key_iv: Buffer;
  root_key_tag: Buffer;
  issuing_certificate_pem: string;
  issuing_key_ciphertext: Buffer;
  issuing_key_iv: Buffer;
  issuing_key_tag: Buffer;
  /** The issuing CA's subject key identifier (hex): what its certificates name as their authority key. */
  issuing_key_id: string;
  /** bigint: read back as a string. */
  crl_number: ColumnType<string, number | string | undefined, number | string>;
  crl_der: Buffer | null;
  crl_next_update: Timestamp | null;
  created_at: CreatedAt;
}

export type IssuanceKind = 'bootstrap' | 'renewal';
export type RevocationReason = 'privilegeWithdrawn' | 'cessationOfOperation';

/** Every operational certificate issued: what revocation and the CRL work from. */
export interface IssuedCertificatesTable {
  tenant_id: string;
  /** Lowercase hex, as in the certificate. */
  serial: string;
  endpoint_name: string;
  kind: IssuanceKind;
  not_before: Timestamp;
  not_after: Timestamp;
  issued_at: CreatedAt;
  revoked_at: Timestamp | null;
  revocation_reason: RevocationReason | null;
}

export interface ProcessedEventsTable {
  event_id: string;
  processed_at: CreatedAt;
}

export interface BootstrapDb {
  server_ca: ServerCaTable;
  tenant_cas: TenantCasTable;
  issued_certificates: IssuedCertificatesTable;
  processed_events: ProcessedEventsTable;
}

/** The service's database, or a transaction on it: repositories take either. */
export type Executor = Kysely<BootstrapDb>;

export type TenantCaRow = Selectable<TenantCasTable>;
export type IssuedCertificateRow = Selectable<IssuedCertificatesTable>;
