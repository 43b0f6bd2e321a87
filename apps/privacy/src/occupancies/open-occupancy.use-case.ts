import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PRIVACY_CONSENT_STATE, PRIVACY_OCCUPANCIES } from '@meterkeep/contracts';
import { CONFIG, type Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { PrivacyConfig } from '../config';
import { ResealJobsRepository } from '../reseal/reseal-jobs.repository';
import { defaultConsentStates } from '../consents/consent-events';
import { ConsentPolicies } from '../consents/consent-policies';
import { toOccupancyTerms } from '../consents/consents.repository';
import { DataKeyVault } from '../data-keys/data-key-vault';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { OccupancyErrors } from './occupancies.errors';
import type { OccupancyView, OpenOccupancyRequest } from './occupancies.schemas';
import { OccupanciesRepository } from './occupancies.repository';
import { occupancyEvent } from './occupancy-events';
import { firstOverlap, isBackdatedWithin } from './occupancy-period';
import { toOccupancyView } from './occupancy.view';

/**
 * A household moves in behind a meter from `from` on, open-ended until closed, with a data key of its
 * own. Refused when the period overlaps another occupancy of the meter (checked under a per-meter lock,
 * so two concurrent opens cannot both pass). Its consent state starts from the policy's defaults.
 * Opened from a past instant (within PRIVACY_MAX_BACKDATE_DAYS), a re-seal job moves what was sealed
 * under the meter's key for its time since then under its own key (reseal/).
 */
@Injectable()
export class OpenOccupancyUseCase {
  constructor(
    private readonly occupancies: OccupanciesRepository,
    private readonly vault: DataKeyVault,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    private readonly consentPolicies: ConsentPolicies,
    private readonly reseals: ResealJobsRepository,
    @Inject(CONFIG) private readonly config: Pick<PrivacyConfig, 'PRIVACY_MAX_BACKDATE_DAYS'>,
  ) {}

  async execute(caller: Caller, request: OpenOccupancyRequest): Promise<OccupancyView> {
    const { tenantId } = caller;
    const { meterId, subjectRef, from } = request;
    const now = new Date();
    const occupancy = await this.transactions.run(async (trx) => {
      await this.occupancies.lockMeter(trx, tenantId, meterId);
      const existing = await this.occupancies.listForMeter(trx, tenantId, meterId);
      const clash = firstOverlap(
        { from, to: null },
        existing.map((row) => ({ id: row.occupancy_id, from: row.valid_from, to: row.valid_to })),
      );
      if (clash) throw OccupancyErrors.overlap(clash.id);
      const occupancyId = `occ-${randomUUID()}`;
      const key = await this.vault.createForOccupancy(trx, { tenantId, meterId, occupancyId });
      const opened = await this.occupancies.insert(trx, {
        occupancyId,
        tenantId,
        meterId,
        subjectRef,
        from,
        keyId: key.key_id,
        consumerClass: request.consumerClass,
        contractDate: request.contractDate ?? null,
      });
      await this.outbox.enqueue(trx, PRIVACY_OCCUPANCIES, [occupancyEvent('opened', opened, now)]);
      if (isBackdatedWithin(from, now, this.config.PRIVACY_MAX_BACKDATE_DAYS))
        await this.reseals.enqueue(trx, {
          tenantId,
          meterId,
          occupancyId,
          reason: 'backdated-open',
          from,
          notBefore: now,
        });
      // Consent starts afresh with every occupancy: the policy's defaults, never a predecessor's.
      await this.outbox.enqueue(
        trx,
        PRIVACY_CONSENT_STATE,
        defaultConsentStates(
          await this.consentPolicies.forTenant(tenantId, trx),
          toOccupancyTerms(opened),
          { tenantId, meterId },
          now,
        ),
      );
      await this.audit.append(trx, tenantId, [
        {
          action: 'privacy.occupancy-opened',
          actor: caller.actor,
          subject: occupancyId,
          outcome: 'allowed',
          detail: { meterId, keyId: key.key_id },
        },
      ]);
      return opened;
    });
    return toOccupancyView(occupancy);
  }
}
