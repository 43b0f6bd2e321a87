import { Injectable } from '@nestjs/common';
import type { AuditEvent } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { Transactions } from '../outbox/transactions';
import { ErasureSaga } from './erasure-saga';
import { toErasureView } from './erasure.view';
import { ErasureErrors } from './erasures.errors';
import { ErasuresRepository } from './erasures.repository';
import type { ErasureView } from './erasures.schemas';

/**
 * A FAILED saga resumes where it stopped: the failed confirmations are forgotten and the services asked
 * again (what completed stays); audited.
 */
@Injectable()
export class RetryErasureUseCase {
  constructor(
    private readonly erasures: ErasuresRepository,
    private readonly saga: ErasureSaga,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, subjectRef: string, erasureId: string): Promise<ErasureView> {
    await this.transactions.run(async (trx) => {
      const row = await this.erasures.lock(trx, caller.tenantId, erasureId);
      if (row?.subject_ref !== subjectRef) throw ErasureErrors.notFound();
      if (row.state !== 'FAILED' || row.failed_in === null) throw ErasureErrors.notFailed(row.state);
      await this.erasures.dropFailedConfirmations(trx, erasureId);
      const appended = await this.audit.append(trx, caller.tenantId, [
        {
          action: 'privacy.erasure-retried',
          actor: caller.actor,
          subject: erasureId,
          outcome: 'allowed',
          detail: { resumesIn: row.failed_in },
        },
      ]);
      await this.erasures.update(trx, erasureId, {
        state: row.failed_in,
        failed_in: null,
        last_error: null,
        next_attempt_at: null,
        audit_records: JSON.stringify([...(row.audit_records as AuditEvent[]), ...appended]),
      });
    });
    await this.saga.kick(erasureId);
    const row = (await this.erasures.find(caller.tenantId, erasureId))!;
    return toErasureView(row, await this.erasures.confirmations(this.erasures.database, erasureId), null);
  }
}
