import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { Executor } from '../core/database';
import { Transactions } from '../outbox/transactions';
import { type StoredRetention, scopeDigest } from './erasure-scope';
import { ErasureSaga } from './erasure-saga';
import { toErasureView } from './erasure.view';
import { ErasureErrors } from './erasures.errors';
import { ErasuresRepository } from './erasures.repository';
import type { ErasureView, RequestErasureBody, RetentionRequest } from './erasures.schemas';
import { RetentionSchedulesRepository } from '../retention/retention-schedules.repository';

const DAY_MS = 24 * 3600 * 1000;
/** Stands for a member the request left to the schedule, in the scope digest. */
const FROM_SCHEDULE = '(schedule)';

/**
 * The retentions as asked, for the scope digest: a repeat that leaves the dates to the schedule finds the
 * first erasure, though the schedule's date has moved on since.
 */
export function requestedForm(retain: readonly RetentionRequest[]): StoredRetention[] {
  return retain.map((r) => ({
    purpose: r.purpose,
    granularity: r.granularity,
    legalBasis: r.legalBasis ?? FROM_SCHEDULE,
    reference: r.reference ?? FROM_SCHEDULE,
    retainUntil: r.retainUntil?.toISOString() ?? FROM_SCHEDULE,
  }));
}

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
    private readonly schedules: RetentionSchedulesRepository,
  ) {}

  async execute(caller: Caller, subjectRef: string, body: RequestErasureBody): Promise<ErasureView> {
    const now = new Date();
    const retentions = await this.resolveRetentions(caller.tenantId, body.retain, now);
    const requested = requestedForm(body.retain);
    const erasureId = await this.transactions.run(async (trx) => {
      const occupancies = await this.erasures.subjectOccupancies(trx, caller.tenantId, subjectRef);
      if (occupancies.length === 0) throw ErasureErrors.subjectNotFound();
      return this.record(trx, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        subjectRef,
        occupancyIds: occupancies.map((o) => o.occupancy_id),
        requested,
        retentions,
        now,
      });
    });
    void this.saga.kick(erasureId);
    return this.view(caller.tenantId, erasureId);
  }

  /**
   * Records an erasure of these occupancies of the subject (REQUESTED, audited) in the caller's
   * transaction, or finds the one already made for the same scope; the caller kicks the saga after
   * commit. Decommissioning uses it for the occupancy it closes (its own erasure id, so it finds it again).
   */
  async record(
    trx: Executor,
    input: {
      tenantId: string;
      actor: string;
      subjectRef: string;
      occupancyIds: string[];
      requested: StoredRetention[];
      retentions: StoredRetention[];
      now: Date;
      erasureId?: string;
    },
  ): Promise<string> {
    const { tenantId, subjectRef, occupancyIds } = input;
    const digest = scopeDigest(occupancyIds, input.requested);
    const existing = await this.erasures.findByScope(trx, tenantId, subjectRef, digest);
    if (existing) return existing.erasure_id;
    const id = input.erasureId ?? `er-${randomUUID()}`;
    const inserted = await this.erasures.insertIfAbsent(trx, {
      erasureId: id,
      tenantId,
      subjectRef,
      scopeDigest: digest,
      retentions: input.retentions,
      occupancyIds,
      actor: input.actor,
      requestedAt: input.now,
    });
    if (!inserted) {
      // A concurrent identical request won: answer its erasure.
      return (await this.erasures.findByScope(trx, tenantId, subjectRef, digest))!.erasure_id;
    }
    const records = await this.audit.append(trx, tenantId, [
      {
        action: 'privacy.erasure-requested',
        actor: input.actor,
        subject: id,
        outcome: 'allowed',
        detail: { occupancies: occupancyIds.length, retentions: input.retentions.length },
      },
    ]);
    const first = records[0]!;
    await this.erasures.update(trx, id, {
      audit_records: JSON.stringify(records),
      chain_head_before: JSON.stringify({ sequence: first.sequence - 1, digest: first.previousDigest }),
    });
    return id;
  }

  /** Each retention complete: what the request leaves out comes from the tenant's schedule for it. */
  async resolveRetentions(
    tenantId: string,
    retain: readonly RetentionRequest[],
    now: Date,
  ): Promise<StoredRetention[]> {
    const resolved: StoredRetention[] = [];
    for (const r of retain) {
      const complete = r.retainUntil && r.legalBasis && r.reference;
      const schedule = complete ? undefined : await this.schedules.find(tenantId, r.purpose);
      if (!complete && !schedule) throw ErasureErrors.retentionScheduleMissing(r.purpose);
      const retainUntil = r.retainUntil ?? new Date(now.getTime() + schedule!.retain_days * DAY_MS);
      if (retainUntil <= now) throw ErasureErrors.retentionInPast(r.purpose);
      resolved.push({
        purpose: r.purpose,
        granularity: r.granularity,
        legalBasis: r.legalBasis ?? schedule!.legal_basis,
        reference: r.reference ?? schedule!.reference,
        retainUntil: retainUntil.toISOString(),
      });
    }
    return resolved;
  }

  private async view(tenantId: string, erasureId: string): Promise<ErasureView> {
    const row = (await this.erasures.find(tenantId, erasureId))!;
    const confirmations = await this.erasures.confirmations(this.erasures.database, erasureId);
    const certificate = await this.erasures.certificate(tenantId, erasureId);
    return toErasureView(row, confirmations, certificate?.certificate_id ?? null);
  }
}
