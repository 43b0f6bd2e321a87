import { Inject, Injectable } from '@nestjs/common';
import { PRIVACY_OCCUPANCIES } from '@meterkeep/contracts';
import { CONFIG, type Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { PrivacyConfig } from '../config';
import { ResealJobsRepository } from '../reseal/reseal-jobs.repository';
import { MAX_INGEST_KEY_CACHE_MS } from '../reseal/reseal-readings.use-case';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { RecallReleases } from '../release/recall-releases';
import { ReleaseRepository } from '../release/release.repository';
import { OccupancyErrors } from './occupancies.errors';
import type { CloseOccupancyRequest, OccupancyView } from './occupancies.schemas';
import { OccupanciesRepository } from './occupancies.repository';
import { occupancyEvent } from './occupancy-events';
import { isBackdatedTooFar, isValidEnd } from './occupancy-period';
import { toOccupancyView } from './occupancy.view';

/**
 * The household moves out at `to` (exclusive): later readings fall to the next occupancy or the meter
 * key. Closing shortens a period, so it cannot make one overlap. Closing again at the same time is a
 * no-op; at another time, a conflict.
 *
 * `to` in the future (leaving on a date): the ingest seals by reading time, so it switches keys at `to`
 * exactly. A replica whose cached keys predate the change could still seal a reading from `to` on (let
 * in by the clock skew) under the old key until the announcement reaches it: a re-seal job due once any
 * such cache has expired moves those too. `to` in the past (left without notice; at most PRIVACY_MAX_BACKDATE_DAYS back, else
 * BACKDATE_TOO_FAR): in the same transaction, the values the gate already released holding readings
 * from `to` on are recalled (release/recall-releases.ts), the release gate's staged readings of the
 * occupancy from `to` on are deleted (not its data), and a re-seal job is written that re-seals what was
 * sealed under its key from `to` on under the right key (reseal/).
 */
@Injectable()
export class CloseOccupancyUseCase {
  constructor(
    private readonly occupancies: OccupanciesRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    private readonly reseals: ResealJobsRepository,
    private readonly release: ReleaseRepository,
    private readonly recalls: RecallReleases,
    @Inject(CONFIG) private readonly config: Pick<PrivacyConfig, 'PRIVACY_MAX_BACKDATE_DAYS'>,
  ) {}

  async execute(caller: Caller, occupancyId: string, { to }: CloseOccupancyRequest): Promise<OccupancyView> {
    const now = new Date();
    const occupancy = await this.transactions.run(async (trx) => {
      const current = await this.occupancies.lock(trx, caller.tenantId, occupancyId);
      if (!current) throw OccupancyErrors.notFound();
      if (current.valid_to !== null) {
        if (current.valid_to.getTime() === to.getTime()) return current;
        throw OccupancyErrors.alreadyClosed(current.valid_to);
      }
      if (!isValidEnd(current.valid_from, to)) throw OccupancyErrors.invalidPeriod();
      const maxDays = this.config.PRIVACY_MAX_BACKDATE_DAYS;
      if (isBackdatedTooFar(to, now, maxDays)) throw OccupancyErrors.backdatedTooFar(maxDays);
      const closed = await this.occupancies.close(trx, occupancyId, to);
      // Its windows are now cut at `to`: the release gate plans it at its next pass.
      await this.release.markDue(trx, [occupancyId]);
      await this.outbox.enqueue(trx, PRIVACY_OCCUPANCIES, [occupancyEvent('closed', closed, now)]);
      const backdated = to.getTime() < now.getTime();
      let unstaged = 0;
      let recalled = 0;
      if (backdated) {
        // Before the staged readings go: they tell which released values held readings from `to` on.
        recalled = await this.recalls.afterBackdatedClose(trx, closed, caller.actor, now);
        unstaged = await this.release.deleteStagedFrom(trx, occupancyId, to);
        await this.reseals.enqueue(trx, {
          tenantId: caller.tenantId,
          meterId: closed.meter_id,
          occupancyId,
          reason: 'backdated-close',
          from: to,
          notBefore: now,
        });
      } else
        await this.reseals.enqueue(trx, {
          tenantId: caller.tenantId,
          meterId: closed.meter_id,
          occupancyId,
          reason: 'future-close',
          from: to,
          notBefore: new Date(now.getTime() + MAX_INGEST_KEY_CACHE_MS),
        });
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'privacy.occupancy-closed',
          actor: caller.actor,
          subject: occupancyId,
          outcome: 'allowed',
          detail: {
            meterId: closed.meter_id,
            keyId: closed.key_id,
            ...(backdated && { backdated: true, unstagedReadings: unstaged, recalledReleases: recalled }),
          },
        },
      ]);
      return closed;
    });
    return toOccupancyView(occupancy);
  }
}
