import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EnrollmentDecommissionRequestEvent } from '@meterkeep/contracts';
import type { DecommissionAnswer } from '@meterkeep/service-runtime';
import type { OccupancyRow } from '../core/database';
import { ErasuresRepository } from '../erasures/erasures.repository';
import { ErasureSaga } from '../erasures/erasure-saga';
import { RequestErasureUseCase, requestedForm } from '../erasures/request-erasure.use-case';
import { OccupanciesRepository } from '../occupancies/occupancies.repository';
import { OccupancyCloser } from '../occupancies/occupancy-closer';
import { Transactions } from '../outbox/transactions';
import { DecommissionPoliciesRepository } from './decommission-policies.repository';

export const DECOMMISSION_ACTOR = 'privacy:decommission';

/** The erasure a decommissioning records: an id of the erasure API's form, derived so a retry finds it. */
export function erasureIdFor(decommissionId: string): string {
  const hex = createHash('sha256').update(`decommission:${decommissionId}`).digest('hex');
  return `er-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Privacy's step of a decommissioning: the meter's open occupancy is closed at the registry's
 * decommissioning time (as the API's close does it, back-dated when the step runs after that time: see
 * OccupancyCloser), then the tenant's policy applies to it: `erase` (the default) records an erasure
 * of that occupancy through the erasure saga (readings key destroyed, every service purging and
 * confirming, a signed certificate), keeping the policy's purposes under retention keys dated by the
 * tenant's schedules (Art. 17(3)(b)); `retain` keeps its keys (the subject's own erasure request, or the
 * retention schedules, end them later). Idempotent: asked again, the occupancy is found closed at that
 * time and the same erasure (its id derived from the decommissioning) is looked up. The step is
 * `pending` until that erasure is CERTIFIED, `failed` when it failed.
 *
 * The close's re-seal job and the erasure do not wait for each other. No next occupancy follows, so the
 * job moves readings from the close on to the meter's key; if the erasure destroyed the occupancy's key
 * first, the job cannot open what is under it and leaves those records as they are (erased with the
 * key, erring towards erasure), and it never seals under a destroyed key (reseal-plan.ts). What it does
 * re-seal is from the close on, outside the erased period, so the certificate's check (no live key opens
 * an erased record) holds either way.
 */
@Injectable()
export class DecommissionOccupancyUseCase {
  constructor(
    private readonly occupancies: OccupanciesRepository,
    private readonly closer: OccupancyCloser,
    private readonly policies: DecommissionPoliciesRepository,
    private readonly requestErasure: RequestErasureUseCase,
    private readonly erasures: ErasuresRepository,
    private readonly saga: ErasureSaga,
    private readonly transactions: Transactions,
  ) {}

  async execute(event: EnrollmentDecommissionRequestEvent): Promise<DecommissionAnswer> {
    const { tenantId, deviceId: meterId, decommissionId } = event;
    const at = new Date(event.decommissionedAt);
    const now = new Date();
    const { policy, retentions: kept } = await this.policies.policyOf(tenantId);
    // Resolved before the transaction: the schedules' dates count from now, as a subject's request does.
    const retentions =
      policy === 'erase' ? await this.requestErasure.resolveRetentions(tenantId, kept, now) : [];
    const { occupancy, erasureId } = await this.transactions.run(async (trx) => {
      await this.occupancies.lockMeter(trx, tenantId, meterId);
      const all = await this.occupancies.listForMeter(trx, tenantId, meterId);
      let target: OccupancyRow | undefined = all.find((o) => o.valid_to === null);
      if (target) {
        // An occupancy dated to begin after the decommissioning ends as soon as it begins.
        const to = at > target.valid_from ? at : new Date(target.valid_from.getTime() + 1);
        // As any close (occupancies/occupancy-closer.ts): back-dated, the released values holding readings
        // from `to` on recalled, the gate's staged ones deleted, a re-seal job written. Never refused
        // for PRIVACY_MAX_BACKDATE_DAYS: that limit bounds what an operator may back-date by hand, while
        // the registry's time is authoritative and a step retried for days must still close there.
        target = await this.closer.close(trx, target.occupancy_id, to, {
          actor: DECOMMISSION_ACTOR,
          now,
          detail: { decommissionId },
        });
      } else {
        // Closed on an earlier attempt: the last occupancy, ended at (or just after) the decommissioning.
        const last = all[all.length - 1];
        if (last?.valid_to && last.valid_to.getTime() >= at.getTime()) target = last;
      }
      if (!target || policy !== 'erase') return { occupancy: target, erasureId: undefined };
      // Made on an earlier attempt (under the policy of then): found by its id, never made again.
      const made = await this.erasures.findIn(trx, tenantId, erasureIdFor(decommissionId));
      if (made) return { occupancy: target, erasureId: made.erasure_id };
      const id = await this.requestErasure.record(trx, {
        tenantId,
        actor: DECOMMISSION_ACTOR,
        subjectRef: target.subject_ref,
        occupancyIds: [target.occupancy_id],
        requested: requestedForm(kept),
        retentions,
        now,
        erasureId: erasureIdFor(decommissionId),
      });
      return { occupancy: target, erasureId: id };
    });
    if (!occupancy)
      return { outcome: 'not-applicable', detail: 'no occupancy of this meter was open at decommissioning' };
    const facts = {
      occupancyId: occupancy.occupancy_id,
      closedAt: occupancy.valid_to!.toISOString(),
      policy,
    };
    if (erasureId === undefined)
      return {
        outcome: 'completed',
        detail: `occupancy closed; its keys retained per the tenant's decommission policy`,
        facts,
      };
    await this.saga.kick(erasureId);
    const erasure = await this.erasures.find(tenantId, erasureId);
    const certificate = await this.erasures.certificate(tenantId, erasureId);
    const withErasure = { ...facts, erasureId, erasureState: erasure?.state ?? 'unknown' };
    if (erasure?.state === 'CERTIFIED' && certificate)
      return {
        outcome: 'completed',
        detail: `occupancy closed and erased (certificate ${certificate.certificate_id})`,
        facts: { ...withErasure, certificateId: certificate.certificate_id },
      };
    if (erasure?.state === 'FAILED')
      return {
        outcome: 'failed',
        detail: `the erasure of the occupancy failed: ${erasure.last_error ?? 'no reason'} (retry it; asked again)`,
        facts: withErasure,
      };
    return {
      outcome: 'pending',
      detail: `occupancy closed; erasure ${erasure?.state ?? 'not found'}`,
      facts: withErasure,
    };
  }
}
