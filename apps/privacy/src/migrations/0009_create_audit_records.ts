import { type Kysely, type Migration, sql } from 'kysely';

// Every audit record as chained (@meterkeep/audit), stored beside the chain head in the transaction that
// appends it, so GET /v1/audit/verify recomputes a tenant's chain from its own rows. Records chained
// before this table went to audit.events.v1 only: each head's anchor says where the stored ones begin.
const statements = [
  `create table audit_records (
    tenant_id text not null,
    sequence bigint not null,
    record jsonb not null,
    primary key (tenant_id, sequence)
  )`,
  `alter table audit_chain_heads
    add column anchor_sequence bigint not null default 0,
    add column anchor_digest text not null default '${'0'.repeat(64)}'`,
  `update audit_chain_heads set anchor_sequence = sequence, anchor_digest = digest`,
];

export const createAuditRecords: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
