import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { Transactions } from '../outbox/transactions';
import { type StoredRetention, scopeDigest } from './erasure-scope';
import { ErasureSaga } from './erasure-saga';
import { toErasureView } from './erasure.view';
import { ErasureErrors } from './erasures.errors';
import { ErasuresRepository } from './erasures.repository';
import type { ErasureView, RequestErasureBody } from './erasures.schemas';

/**
 * Art. 17: records the request (REQUESTED) for the subject's occupancies as they are now, audited, and
 * starts the saga. Idempotent: the same subject with the same occupancies and retentions answers the
 * erasure already made (its certificate once issued), whatever state it is in.
 */
@Injectable()
export class RequestErasureUseCase {
  constructor(
    private readonly erasures: ErasuresRepository,
    private readonly saga: ErasureSaga,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, subjectRef: string, body: RequestErasureBody): Promise<ErasureView> {
    const now = new Date();
    for (const retention of body.retain)
      if (retention.retainUntil <= now) throw ErasureErrors.retentionInPast(retention.purpose);
    const retentions: StoredRetention[] = body.retain.map((r) => ({
      ...r,
      retainUntil: r.retainUntil.toISOString(),
    }));
    const erasureId = await this.transactions.run(async (trx) => {
      const occupancies = await this.erasures.subjectOccupancies(trx, caller.tenantId, subjectRef);
      if (occupancies.length === 0) throw ErasureErrors.subjectNotFound();
      const occupancyIds = occupancies.map((o) => o.occupancy_id);
      const digest = scopeDigest(occupancyIds, retentions);
      const existing = await this.erasures.findByScope(trx, caller.tenantId, subjectRef, digest);
      if (existing) return existing.erasure_id;
      const id = `er-${randomUUID()}`;
      const inserted = await this.erasures.insertIfAbsent(trx, {
        erasureId: id,
        tenantId: caller.tenantId,
        subjectRef,
        scopeDigest: digest,
        retentions,
        occupancyIds,
        actor: caller.actor,
        requestedAt: now,
      });
      if (!inserted) {
        // A concurrent identical request won: answer its erasure.
        return (await this.erasures.findByScope(trx, caller.tenantId, subjectRef, digest))!.erasure_id;
      }
      const records = await this.audit.append(trx, caller.tenantId, [
        {
          action: 'privacy.erasure-requested',
          actor: caller.actor,
          subject: id,
          outcome: 'allowed',
          detail: { occupancies: occupancyIds.length, retentions: retentions.length },
        },
      ]);
      const first = records[0]!;
      await this.erasures.update(trx, id, {
        audit_records: JSON.stringify(records),
        chain_head_before: JSON.stringify({ sequence: first.sequence - 1, digest: first.previousDigest }),
      });
      return id;
    });
    void this.saga.kick(erasureId);
    return this.view(caller.tenantId, erasureId);
  }

  private async view(tenantId: string, erasureId: string): Promise<ErasureView> {
    const row = (await this.erasures.find(tenantId, erasureId))!;
    const confirmations = await this.erasures.confirmations(this.erasures.database, erasureId);
    const certificate = await this.erasures.certificate(tenantId, erasureId);
    return toErasureView(row, confirmations, certificate?.certificate_id ?? null);
  }
}
