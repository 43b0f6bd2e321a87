import type { Kysely } from 'kysely';
import type { AuditEvent } from '@meterkeep/contracts';
import { type ChainHead, EMPTY_CHAIN } from './audit-chain';
import { type AuditChainDb, type AuditChainTableOptions, auditChainView } from './audit-chain-heads-table';

/** A record as stored: its row's tenant and sequence, and the record as read back (unchecked). */
export interface StoredAuditRecord {
  sequence: number;
  record: unknown;
}

/** Each tenant's chain head (sequence and digest of its last audit record) and its stored records. */
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

  /** Stores the records as chained, in the caller's transaction (the one that saves the head). */
  async storeRecords<DB extends AuditChainDb>(
    executor: Kysely<DB>,
    events: readonly AuditEvent[],
  ): Promise<void> {
    if (events.length === 0) return;
    await auditChainView(executor, this.options)
      .insertInto('audit_records')
      .values(
        events.map((event) => ({
          tenant_id: event.tenantId,
          sequence: event.sequence,
          record: JSON.stringify(event),
        })),
      )
      .execute();
  }

  /** The head and where the stored records begin, or undefined for a tenant with no chain. */
  async chain<DB extends AuditChainDb>(
    executor: Kysely<DB>,
    tenantId: string,
  ): Promise<{ head: ChainHead; anchor: ChainHead } | undefined> {
    const row = await auditChainView(executor, this.options)
      .selectFrom('audit_chain_heads')
      .select(['sequence', 'digest', 'anchor_sequence', 'anchor_digest'])
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    return (
      row && {
        head: { sequence: Number(row.sequence), digest: row.digest },
        anchor: { sequence: Number(row.anchor_sequence), digest: row.anchor_digest },
      }
    );
  }

  /** One page of a tenant's stored records with sequences in (after, upTo], in sequence order. */
  async records<DB extends AuditChainDb>(
    executor: Kysely<DB>,
    tenantId: string,
    after: number,
    upTo: number,
    limit: number,
  ): Promise<StoredAuditRecord[]> {
    const rows = await auditChainView(executor, this.options)
      .selectFrom('audit_records')
      .select(['sequence', 'record'])
      .where('tenant_id', '=', tenantId)
      .where('sequence', '>', String(after))
      .where('sequence', '<=', String(upTo))
      .orderBy('sequence')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ sequence: Number(row.sequence), record: row.record }));
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
