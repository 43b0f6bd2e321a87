import { Injectable } from '@nestjs/common';
import type { Executor } from '../core/database';
import { type ChainHead, EMPTY_CHAIN } from './audit-chain';

/** Each tenant's chain head: sequence and digest of its last audit record. */
@Injectable()
export class AuditRepository {
  /** The head, locked until the transaction ends: appends to one tenant's chain take turns. */
  async lockHead(executor: Executor, tenantId: string): Promise<ChainHead> {
    await executor
      .insertInto('audit_chain_heads')
      .values({ tenant_id: tenantId, sequence: EMPTY_CHAIN.sequence, digest: EMPTY_CHAIN.digest })
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .execute();
    const head = await executor
      .selectFrom('audit_chain_heads')
      .select(['sequence', 'digest'])
      .where('tenant_id', '=', tenantId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    return { sequence: Number(head.sequence), digest: head.digest };
  }

  async saveHead(executor: Executor, tenantId: string, head: ChainHead): Promise<void> {
    await executor
      .updateTable('audit_chain_heads')
      .set({ sequence: head.sequence, digest: head.digest })
      .where('tenant_id', '=', tenantId)
      .execute();
  }
}
