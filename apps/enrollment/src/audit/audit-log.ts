import { Injectable } from '@nestjs/common';
import { AUDIT_EVENTS } from '@meterkeep/contracts';
import type { Executor } from '../core/database';
import { OutboxRepository } from '../outbox/outbox.repository';
import { type AuditEntry, chainAuditEvents } from './audit-chain';
import { AuditRepository } from './audit.repository';

/** Appends security-relevant actions to the tenant's hash chain, in the caller's transaction. */
@Injectable()
export class AuditLog {
  constructor(
    private readonly heads: AuditRepository,
    private readonly outbox: OutboxRepository,
  ) {}

  async append(executor: Executor, tenantId: string, entries: readonly AuditEntry[], now = new Date()) {
    if (entries.length === 0) return;
    const head = await this.heads.lockHead(executor, tenantId);
    const chained = chainAuditEvents(tenantId, head, entries, now);
    await this.heads.saveHead(executor, tenantId, chained.head);
    await this.outbox.enqueue(executor, AUDIT_EVENTS, chained.events);
  }
}
