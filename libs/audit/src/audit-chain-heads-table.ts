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
}

export interface AuditChainDb {
  audit_chain_heads: AuditChainHeadsTable;
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
