import { Injectable } from '@nestjs/common';
import { PRIVACY_RELEASE_RECALLS } from '@meterkeep/contracts';
import { AuditLog } from '../audit/audit-log';
import type { Executor, OccupancyRow } from '../core/database';
import { OutboxRepository } from '../outbox/outbox.repository';
import { recallNotices, selectRecalls } from './release-recall';
import { ReleaseRecallsRepository } from './release-recalls.repository';

/**
 * Recalls what the gate released of an occupancy closed back-dated (release-recall.ts), in the close's
 * transaction: it holds the occupancy locked for update, so a release under way committed before it
 * and one after it sees the close (no value is recorded between). Must run before the close deletes the
 * staged readings from `closedAt` on: they tell which values held them. Each value is recalled once
 * (release_recalls); its notice, one per recipient, goes through the outbox with the close, so it is
 * published even if the service stops right after the commit, and each recall is audited.
 */
@Injectable()
export class RecallReleases {
  constructor(
    private readonly recalls: ReleaseRecallsRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
  ) {}

  /** Answers how many released values were recalled now. */
  async afterBackdatedClose(
    trx: Executor,
    closed: OccupancyRow,
    actor: string,
    recordedAt: Date,
  ): Promise<number> {
    const closedAt = closed.valid_to!;
    const released = await this.recalls.releasedReaching(trx, closed.occupancy_id, closedAt);
    if (released.length === 0) return 0;
    const readings = await this.recalls.stagedFrom(trx, closed.occupancy_id, closedAt);
    const recalled = selectRecalls(released, readings, closedAt.getTime(), recordedAt.getTime());
    const context = {
      tenantId: closed.tenant_id,
      occupancyId: closed.occupancy_id,
      meterId: closed.meter_id,
      closedAt: closedAt.getTime(),
      recordedAt: recordedAt.getTime(),
    };
    const notices = recallNotices(recalled, context);
    const noticeOf = new Map(
      notices.flatMap((n) => n.releases.map((r) => [r.releaseId, n.eventId] as const)),
    );
    const fresh = await this.recalls.record(
      trx,
      { ...context, closedAt, recordedAt },
      recalled.map((v) => ({ ...v, noticeId: noticeOf.get(v.eventId)! })),
    );
    // Recalled before (a close or job run again): no notice again. Notice ids are stable, so a notice
    // repeated by the outbox's at-least-once relay is one to a consumer keyed on eventId.
    const outgoing = notices.filter((n) => n.releases.some((r) => fresh.has(r.releaseId)));
    if (outgoing.length === 0) return 0;
    await this.outbox.enqueue(trx, PRIVACY_RELEASE_RECALLS, outgoing);
    await this.audit.append(
      trx,
      closed.tenant_id,
      outgoing.map((n) => ({
        action: 'privacy.releases-recalled',
        actor,
        subject: closed.occupancy_id,
        outcome: 'allowed' as const,
        detail: {
          noticeId: n.eventId,
          reason: n.reason,
          recipient: n.recipient,
          meterId: n.meterId,
          periodFrom: n.period.from,
          periodTo: n.period.to,
          releases: n.releases.length,
          part: n.part,
          parts: n.parts,
        },
      })),
    );
    return fresh.size;
  }
}
