import type { Kysely } from 'kysely';
import { type ChainHead, EMPTY_CHAIN } from './audit-chain';
import { type AuditChainDb, type AuditChainTableOptions, auditChainView } from './audit-chain-heads-table';

/** Each tenant's chain head: sequence and digest of its last audit record. */
export class AuditChainRepository {
  constructor(private readonly options: AuditChainTableOptions = {}) {}

  /** The head, locked until the transaction ends: appends to one tenant's chain take turns. */
  async lockHead<DB extends AuditChainDb>(executor: Kysely<DB>, tenantId: string): Promise<ChainHead> {
    const db = auditChainView(executor, this.options);
    await db
      .insertInto('audit_chain_heads')
      .values({ tenant_id: tenantId, sequence: EMPTY_CHAIN.sequence, digest: EMPTY_CHAIN.digest })
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .execute();
    const head = await db
      .selectFrom('audit_chain_heads')
      .select(['sequence', 'digest'])
      .where('tenant_id', '=', tenantId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    return { sequence: Number(head.sequence), digest: head.digest };
  }

  async saveHead<DB extends AuditChainDb>(
    executor: Kysely<DB>,
    tenantId: string,
    head: ChainHead,
  ): Promise<void> {
    await auditChainView(executor, this.options)
      .updateTable('audit_chain_heads')
      .set({ sequence: head.sequence, digest: head.digest })
      .where('tenant_id', '=', tenantId)
      .execute();
  }

  /** The head as stored, without locking; the empty chain for a tenant that has none yet. */
  async head<DB extends AuditChainDb>(executor: Kysely<DB>, tenantId: string): Promise<ChainHead> {
    const head = await auditChainView(executor, this.options)
      .selectFrom('audit_chain_heads')
      .select(['sequence', 'digest'])
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    return head ? { sequence: Number(head.sequence), digest: head.digest } : EMPTY_CHAIN;
  }
}
