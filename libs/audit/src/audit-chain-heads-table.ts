import type { ColumnType, Kysely } from 'kysely';

/**
 * The table a service's migration creates for its chain heads, in the service's own schema (each
 * service keeps its own chain per tenant):
 *
 *   create table audit_chain_heads (
 *     tenant_id text primary key,
 *     sequence bigint not null,
 *     digest text not null
 *   )
 *
 * The DDL stays in each service's migration (a migration is history and never changes with a library).
 */
export interface AuditChainHeadsTable {
  tenant_id: string;
  /** bigint: read back as a string. */
  sequence: ColumnType<string, number, number>;
  digest: string;
  /**
   * Where the stored records begin: the head when `audit_records` was created (records up to it went to
   * audit.events.v1 only), the empty chain for a tenant whose chain began later.
   */
  anchor_sequence: ColumnType<string, number | undefined, never>;
  anchor_digest: ColumnType<string, string | undefined, never>;
}

/**
 * Every record of the chain as chained, stored in the transaction that appends it, so the service can
 * recompute a tenant's chain (GET /v1/audit/verify) without replaying Kafka:
 *
 *   create table audit_records (
 *     tenant_id text not null,
 *     sequence bigint not null,
 *     record jsonb not null,
 *     primary key (tenant_id, sequence)
 *   )
 *   alter table audit_chain_heads
 *     add column anchor_sequence bigint not null default 0,
 *     add column anchor_digest text not null default '<GENESIS_DIGEST>'
 *   update audit_chain_heads set anchor_sequence = sequence, anchor_digest = digest
 */
export interface AuditRecordsTable {
  tenant_id: string;
  sequence: ColumnType<string, number, never>;
  /** The AuditEvent; read back parsed, written as JSON text. */
  record: ColumnType<unknown, string, never>;
}

export interface AuditChainDb {
  audit_chain_heads: AuditChainHeadsTable;
  audit_records: AuditRecordsTable;
}

export interface AuditChainTableOptions {
  /**
   * The schema holding the chain heads. Unset, the connection's search_path decides: a service's
   * database is pinned to its own schema (@meterkeep/db), which is where its chain heads live.
   */
  schema?: string;
}

/** A service's database or a transaction on it, seen only through its chain-head table. */
export function auditChainView<DB extends AuditChainDb>(
  executor: Kysely<DB>,
  { schema }: AuditChainTableOptions,
) {
  // Kysely<DB> is not assignable to Kysely<AuditChainDb> (its type is invariant in DB); DB extends
  // AuditChainDb makes the narrowing safe.
  const db = executor as unknown as Kysely<AuditChainDb>;
  return schema === undefined ? db : db.withSchema(schema);
}
