import { Inject, Injectable } from '@nestjs/common';
import { TELEMETRY_RELEASED, type TelemetryReleasedEvent } from '@meterkeep/contracts';
import { EventProducer } from '@meterkeep/kafka';
import type { Logger } from '@meterkeep/observability';
import { sealRelease } from '@meterkeep/reading-seal';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import type { PrivacyConfig } from '../config';
import type { Executor, OccupancyRow } from '../core/database';
import { ConsentPolicies } from '../consents/consent-policies';
import { ConsentsRepository, toLedgerEntry, toOccupancyTerms } from '../consents/consents.repository';
import {
  type ConsentPolicy,
  type LedgerEntry,
  permissionTimeline,
  permittedGranularity,
} from '../consents/policy';
import { assertHalfHourZone } from './calendar-windows';
import { nameUuid } from './name-uuid';
import { closedBefore, nextPlanAt, planReleaseAhead } from './release-plan';
import { ReleaseKeys } from './release-keys';
import { type ReleasedRow, ReleaseRepository } from './release.repository';

const DAY_MS = 86_400_000;

/**
 * Who gets per-occupancy releases: the supplier for each of the policy's supplier purposes, and each
 * third party the ledger names for the purposes it names. Network operators never do: they get only
 * aggregates over many meters (not this path).
 */
export function releaseRecipients(
  policy: ConsentPolicy,
  entries: readonly LedgerEntry[],
): { recipient: string; purpose: string }[] {
  const pairs = Object.entries(policy.purposes)
    .filter(([, rule]) => rule.recipients.includes('supplier'))
    .map(([purpose]) => ({ recipient: 'supplier', purpose }));
  const thirdParties = new Set(
    entries.filter((e) => e.recipient.startsWith('third-party:')).map((e) => `${e.recipient}\0${e.purpose}`),
  );
  for (const pair of [...thirdParties].sort()) {
    const [recipient, purpose] = pair.split('\0') as [string, string];
    pairs.push({ recipient, purpose });
  }
  return pairs;
}

/** Stable per window: a release repeated after a crash between produce and commit carries the same id. */
export function releaseEventId(
  occupancyId: string,
  recipient: string,
  purpose: string,
  level: string,
  start: number,
) {
  return nameUuid(`meterkeep/released/v1\0${occupancyId}\0${recipient}\0${purpose}\0${level}\0${start}`);
}

/** What one pass did: the occupancies it planned (each one due) and how many values it released. */
export interface ReleasePassStats {
  planned: string[];
  released: number;
}

/**
 * One pass of the release gate: for each occupancy due (release_schedule: marked by a reading staged,
 * a consent change, a closure or a key destroyed, or by its previous plan for when its next window
 * closes), in one transaction holding the occupancy's share lock (so a consent change waits for it,
 * and none commits between the check and the produce): read the ledger as it stands, plan what each
 * (recipient, purpose) may receive (release-plan.ts: permission at the reading's time and now), seal
 * each value under the purpose's release key, record the windows as released and the occupancy's next
 * due time, produce them (acks=all), and only then commit. A failed produce rolls all of it back: the
 * windows are released by a later pass (the occupancy stays due). An occupancy nothing happened to
 * since its last plan is not planned: a pass over a quiet stack costs one indexed query, not a plan
 * per occupancy in the look-back.
 */
@Injectable()
export class ReleaseWindowsUseCase {
  constructor(
    private readonly repository: ReleaseRepository,
    private readonly consents: ConsentsRepository,
    private readonly policies: ConsentPolicies,
    private readonly keys: ReleaseKeys,
    private readonly producer: EventProducer,
    @Inject(CONFIG)
    private readonly config: Pick<PrivacyConfig, 'PRIVACY_RELEASE_GRACE_S' | 'PRIVACY_RELEASE_LOOKBACK_DAYS'>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** A pass stopped by `signal` leaves the rest (still due) to the next. */
  async execute(now = new Date(), signal?: AbortSignal): Promise<ReleasePassStats> {
    const since = new Date(now.getTime() - this.config.PRIVACY_RELEASE_LOOKBACK_DAYS * DAY_MS);
    const stats: ReleasePassStats = { planned: [], released: 0 };
    for (const occupancyId of await this.repository.occupanciesDue(now)) {
      if (signal?.aborted) break;
      try {
        const released = await this.repository.database
          .transaction()
          .execute((trx) => this.releaseOccupancy(trx, occupancyId, since, now));
        if (released === undefined) continue;
        stats.planned.push(occupancyId);
        stats.released += released;
      } catch (error) {
        this.logger.error({ occupancyId, err: error }, 'release failed; the windows wait for the next pass');
      }
    }
    return stats;
  }

  private async releaseOccupancy(
    trx: Executor,
    occupancyId: string,
    since: Date,
    now: Date,
  ): Promise<number | undefined> {
    const occupancy = await this.repository.lockOccupancy(trx, occupancyId);
    if (!occupancy) return undefined;
    // Read under the lock, before the readings: a mark committed after this read keeps it due.
    const schedule = await this.repository.schedule(trx, occupancyId);
    // Planned meanwhile by another replica (or no longer due): nothing to do here.
    if (!schedule?.dueAt || schedule.dueAt > now) return undefined;
    // Erased (its keys went under this lock): nothing more of it leaves, and what was staged goes.
    if (await this.repository.readingsKeyDestroyed(trx, occupancy)) {
      await this.repository.deleteStagedReadings(trx, [occupancyId]);
      await this.repository.reschedule(trx, occupancyId, schedule.generation, null, now);
      return 0;
    }
    const policies = await this.policies.versions(occupancy.tenant_id, trx);
    const policy = await this.policies.forTenant(occupancy.tenant_id, trx);
    assertHalfHourZone(policy.timeZone, now.getTime());
    const entries = (await this.consents.list(trx, occupancy.tenant_id, occupancyId)).map((row) =>
      toLedgerEntry(row, policies),
    );
    const terms = toOccupancyTerms(occupancy);
    const { readings, watermark, lastReceivedAt } = await this.repository.readings(trx, occupancyId, since);
    const closed = closedBefore({
      now: now.getTime(),
      graceMs: this.config.PRIVACY_RELEASE_GRACE_S * 1000,
      watermark,
      lastReceivedAt,
    });
    const released = await this.repository.released(trx, occupancyId);
    // The ledger at release time; for an occupancy that ended, as it stood at its end.
    const releaseAt = new Date(Math.min(now.getTime(), (occupancy.valid_to?.getTime() ?? Infinity) - 1));
    const events: TelemetryReleasedEvent[] = [];
    const rows: ReleasedRow[] = [];
    let pendingEnd = Number.POSITIVE_INFINITY;
    const permissionBoundaries: number[] = [];
    for (const { recipient, purpose } of releaseRecipients(policy, entries)) {
      const permissions = permissionTimeline(entries, terms, recipient, purpose, policy).map((s) => ({
        from: s.from.getTime(),
        to: s.to?.getTime() ?? null,
        granularity: s.granularity,
      }));
      for (const span of permissions)
        permissionBoundaries.push(span.from, ...(span.to === null ? [] : [span.to]));
      const { releases: plan, pendingEnd: pending } = planReleaseAhead({
        timeZone: policy.timeZone,
        occupancy: { from: terms.from.getTime(), to: terms.to?.getTime() ?? null },
        permissions,
        atRelease: permittedGranularity(entries, terms, recipient, purpose, releaseAt, policy),
        readings,
        released: released.filter((r) => r.recipient === recipient && r.purpose === purpose),
        closedBefore: closed,
      });
      if (pending !== null) pendingEnd = Math.min(pendingEnd, pending);
      if (plan.length === 0) continue;
      const key = await this.keys.forPurpose(trx, occupancy, recipient, purpose);
      for (const release of plan) {
        const labels = this.labels(occupancy, recipient, purpose, release);
        events.push({
          ...labels,
          occurredAt: now.toISOString(),
          ...sealRelease({ totals: release.totals }, key, labels),
        });
        rows.push({
          ...release,
          recipient,
          purpose,
          eventId: labels.eventId,
          keyId: key.keyId,
          releasedAt: now,
        });
      }
      key.key.fill(0);
    }
    const next = nextPlanAt({
      now: now.getTime(),
      graceMs: this.config.PRIVACY_RELEASE_GRACE_S * 1000,
      pendingEnd: Number.isFinite(pendingEnd) ? pendingEnd : null,
      watermark,
      lastReceivedAt,
      permissionBoundaries,
    });
    this.logger.debug(
      { occupancyId, readings: readings.length, released: released.length, releasing: events.length, next },
      'release pass over an occupancy',
    );
    // In this transaction: a produce that fails leaves the occupancy due as it was.
    await this.repository.reschedule(
      trx,
      occupancyId,
      schedule.generation,
      next === null ? null : new Date(next),
      now,
    );
    if (events.length === 0) return 0;
    await this.repository.recordReleased(trx, occupancyId, rows);
    await this.producer.publishMany(TELEMETRY_RELEASED, events);
    return events.length;
  }

  private labels(
    occupancy: OccupancyRow,
    recipient: string,
    purpose: string,
    release: { level: TelemetryReleasedEvent['granularity']; start: number; end: number },
  ) {
    return {
      eventId: releaseEventId(occupancy.occupancy_id, recipient, purpose, release.level, release.start),
      tenantId: occupancy.tenant_id,
      occupancyId: occupancy.occupancy_id,
      meterId: occupancy.meter_id,
      recipient,
      purpose,
      granularity: release.level,
      windowStart: new Date(release.start).toISOString(),
      windowEnd: new Date(release.end).toISOString(),
    };
  }
}
