import { Injectable } from '@nestjs/common';
import { PRIVACY_OCCUPANCIES } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { ReleaseRepository } from '../release/release.repository';
import { OccupancyErrors } from './occupancies.errors';
import type { CloseOccupancyRequest, OccupancyView } from './occupancies.schemas';
import { OccupanciesRepository } from './occupancies.repository';
import { occupancyEvent } from './occupancy-events';
import { isValidEnd } from './occupancy-period';
import { toOccupancyView } from './occupancy.view';

/**
 * The household moves out at `to` (exclusive): later readings fall to the next occupancy or the meter
 * key. Closing shortens a period, so it cannot make one overlap. Closing again at the same time is a
 * no-op; at another time, a conflict.
 */
@Injectable()
export class CloseOccupancyUseCase {
  constructor(
    private readonly occupancies: OccupanciesRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    private readonly release: ReleaseRepository,
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
      const closed = await this.occupancies.close(trx, occupancyId, to);
      // Its windows are now cut at `to`: the release gate plans it at its next pass.
      await this.release.markDue(trx, [occupancyId]);
      await this.outbox.enqueue(trx, PRIVACY_OCCUPANCIES, [occupancyEvent('closed', closed, now)]);
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'privacy.occupancy-closed',
          actor: caller.actor,
          subject: occupancyId,
          outcome: 'allowed',
          detail: { meterId: closed.meter_id, keyId: closed.key_id },
        },
      ]);
      return closed;
    });
    return toOccupancyView(occupancy);
  }
}
