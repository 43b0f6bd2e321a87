import { type Kysely, type Migration, sql } from 'kysely';

// Each tenant's audit chain head (@meterkeep/audit): sequence and digest of privacy's last audit record
// for the tenant, locked by every append so one tenant's records take turns. Privacy's chain is its own,
// apart from enrollment's.
const statements = [
  `create table audit_chain_heads (
    tenant_id text primary key,
    sequence bigint not null,
    digest text not null
  )`,
];

export const createAuditChainHeads: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
