import type { Kysely } from 'kysely';
import { AUDIT_EVENTS, type AuditEvent, type TopicContract } from '@meterkeep/contracts';
import { type AuditEntry, chainAuditEvents } from './audit-chain';
import type { AuditChainDb } from './audit-chain-heads-table';
import type { AuditChainRepository } from './audit-chain.repository';

/**
 * Where the chained records go: the service's transactional outbox (@meterkeep/outbox's
 * OutboxRepository), writing in the same transaction as the chain head.
 */
export interface AuditOutbox<DB> {
  enqueue(
    executor: Kysely<DB>,
    contract: TopicContract<AuditEvent>,
    events: readonly AuditEvent[],
  ): Promise<void>;
}

/**
 * Appends security-relevant actions to the tenant's hash chain, in the caller's transaction: the head
 * is locked, the records chained from it, the new head saved, the records stored beside it (for
 * verification) and put in the outbox, so they exist if and only if the change they record commits.
 */
export class AuditLog<DB extends AuditChainDb = AuditChainDb> {
  constructor(
    private readonly heads: AuditChainRepository,
    private readonly outbox: AuditOutbox<DB>,
  ) {}

  async append(
    executor: Kysely<DB>,
    tenantId: string,
    entries: readonly AuditEntry[],
    now = new Date(),
  ): Promise<AuditEvent[]> {
    if (entries.length === 0) return [];
    const head = await this.heads.lockHead(executor, tenantId);
    const chained = chainAuditEvents(tenantId, head, entries, now);
    await this.heads.saveHead(executor, tenantId, chained.head);
    await this.heads.storeRecords(executor, chained.events);
    await this.outbox.enqueue(executor, AUDIT_EVENTS, chained.events);
    // The records as chained: a caller that must prove its steps (an erasure certificate) keeps them.
    return chained.events;
  }
}
