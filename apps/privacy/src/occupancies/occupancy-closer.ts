import { Injectable } from '@nestjs/common';
import { PRIVACY_OCCUPANCIES } from '@meterkeep/contracts';
import { AuditLog } from '../audit/audit-log';
import type { Executor, OccupancyRow } from '../core/database';
import { OutboxRepository } from '../outbox/outbox.repository';
import { RecallReleases } from '../release/recall-releases';
import { ReleaseRepository } from '../release/release.repository';
import { ResealJobsRepository } from '../reseal/reseal-jobs.repository';
import { MAX_INGEST_KEY_CACHE_MS } from '../reseal/reseal-readings.use-case';
import { OccupanciesRepository } from './occupancies.repository';
import { occupancyEvent } from './occupancy-events';

export interface CloseContext {
  /** Who closes it (audited, and named by the recalls). */
  actor: string;
  /** When the close is recorded: `to` before it is a back-dated close. */
  now: Date;
  /** More detail for the audit record of the close. */
  detail?: Record<string, unknown>;
}

/**
 * Every close of an occupancy goes through here (the API's close, a decommissioning), so what a close
 * entails cannot differ by who asks: the occupancy ended at `to`, the release gate told, the close
 * announced and audited, and the re-seal job that moves readings from `to` on to the next occupant's key
 * or the meter's. Back-dated, in the same transaction: the values already released holding readings from
 * `to` on are recalled, and the gate's staged readings from `to` on deleted (close-occupancy.use-case.ts).
 * Runs in the caller's transaction, which holds the occupancy (or its meter) locked and has checked that
 * it is open and that `to` is a valid end; limits on how far back (PRIVACY_MAX_BACKDATE_DAYS) are the
 * caller's policy.
 */
@Injectable()
export class OccupancyCloser {
  constructor(
    private readonly occupancies: OccupanciesRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly reseals: ResealJobsRepository,
    private readonly release: ReleaseRepository,
    private readonly recalls: RecallReleases,
  ) {}

  async close(trx: Executor, occupancyId: string, to: Date, context: CloseContext): Promise<OccupancyRow> {
    const { actor, now } = context;
    const closed = await this.occupancies.close(trx, occupancyId, to);
    // Its windows are now cut at `to`: the release gate plans it at its next pass.
    await this.release.markDue(trx, [occupancyId]);
    await this.outbox.enqueue(trx, PRIVACY_OCCUPANCIES, [occupancyEvent('closed', closed, now)]);
    const backdated = to.getTime() < now.getTime();
    let unstaged = 0;
    let recalled = 0;
    const job = {
      tenantId: closed.tenant_id,
      meterId: closed.meter_id,
      occupancyId,
      from: to,
    };
    if (backdated) {
      // Before the staged readings go: they tell which released values held readings from `to` on.
      recalled = await this.recalls.afterBackdatedClose(trx, closed, actor, now);
      unstaged = await this.release.deleteStagedFrom(trx, occupancyId, to);
      await this.reseals.enqueue(trx, { ...job, reason: 'backdated-close', notBefore: now });
    } else
      await this.reseals.enqueue(trx, {
        ...job,
        reason: 'future-close',
        notBefore: new Date(now.getTime() + MAX_INGEST_KEY_CACHE_MS),
      });
    await this.audit.append(trx, closed.tenant_id, [
      {
        action: 'privacy.occupancy-closed',
        actor,
        subject: occupancyId,
        outcome: 'allowed',
        detail: {
          meterId: closed.meter_id,
          keyId: closed.key_id,
          ...context.detail,
          ...(backdated && { backdated: true, unstagedReadings: unstaged, recalledReleases: recalled }),
        },
      },
    ]);
    return closed;
  }
}
