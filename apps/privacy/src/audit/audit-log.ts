import { Injectable } from '@nestjs/common';
import { AUDIT_EVENTS } from '@meterkeep/contracts';
import type { Executor } from '../core/database';
import { OutboxRepository } from '../outbox/outbox.repository';
import { type AuditEntry, unchainedAuditRecord } from './audit-record';

/** Records security-relevant actions on audit.events.v1, through the outbox of the caller's transaction. */
@Injectable()
export class AuditLog {
  constructor(private readonly outbox: OutboxRepository) {}

  async append(executor: Executor, tenantId: string, entries: readonly AuditEntry[], now = new Date()) {
    if (entries.length === 0) return;
    await this.outbox.enqueue(
      executor,
      AUDIT_EVENTS,
      entries.map((entry) => unchainedAuditRecord(tenantId, entry, now)),
    );
  }
}
