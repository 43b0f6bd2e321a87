import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Caller } from '@meterkeep/service-runtime';
import type { PrivacyConfig } from '../config';
import { Transactions } from '../outbox/transactions';
import { OccupancyErrors } from './occupancies.errors';
import type { CloseOccupancyRequest, OccupancyView } from './occupancies.schemas';
import { OccupanciesRepository } from './occupancies.repository';
import { OccupancyCloser } from './occupancy-closer';
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
 * sealed under its key from `to` on under the right key (reseal/). Those effects are OccupancyCloser's,
 * which a decommissioning's close uses too.
 */
@Injectable()
export class CloseOccupancyUseCase {
  constructor(
    private readonly occupancies: OccupanciesRepository,
    private readonly closer: OccupancyCloser,
    private readonly transactions: Transactions,
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
      return this.closer.close(trx, occupancyId, to, { actor: caller.actor, now });
    });
    return toOccupancyView(occupancy);
  }
}
