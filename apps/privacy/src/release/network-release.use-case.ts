import { Inject, Injectable } from '@nestjs/common';
import { TELEMETRY_RELEASED_AGGREGATES, type TelemetryReleasedAggregateEvent } from '@meterkeep/contracts';
import { EventProducer } from '@meterkeep/kafka';
import type { Logger } from '@meterkeep/observability';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import type { PrivacyConfig } from '../config';
import type { Executor } from '../core/database';
import { ConsentPolicies } from '../consents/consent-policies';
import { ruleOf } from '../consents/policy';
import { assertHalfHourZone } from './calendar-windows';
import { nameUuid } from './name-uuid';
import { type AggregateRule, aggregateCells } from './network-aggregate';
import { type NetworkReleasedRow, NetworkReleaseRepository } from './network-release.repository';
import { closedBefore } from './release-plan';

const DAY_MS = 86_400_000;
const HALF_HOUR_MS = 1_800_000;
/** Windows decided per tenant per pass: a first pass over the look-back takes many passes, none long. */
const MAX_WINDOWS_PER_PASS = 96;
export const NETWORK_PURPOSE = 'network-operator';

const floorHalfHour = (ms: number) => ms - (((ms % HALF_HOUR_MS) + HALF_HOUR_MS) % HALF_HOUR_MS);

/** Stable per cell window: a release repeated after a crash between produce and commit keeps its id. */
export function networkReleaseEventId(tenantId: string, cellId: string, level: string, start: number) {
  return nameUuid(`meterkeep/released-aggregate/v1\0${tenantId}\0${cellId}\0${level}\0${start}`);
}

/**
 * What network operators get (spec §4.2): per half-hour of the tenant's zone, each cell's total of its
 * meters' interval readings, when the cell passes the aggregate rule (network-aggregate.ts: at least
 * PRIVACY_NETWORK_MIN_METERS meters, none above PRIVACY_NETWORK_MAX_SHARE of it), per register.
 * A suppressed cell leaves no record on Kafka or in network_released_windows; only the tenant's
 * progress moves past its window. Half-hours: what a DNO plans feeders with, and an aggregate over
 * enough meters hides each one at any level (the rule, not the window, does the anonymising).
 *
 * Per tenant in one transaction holding its progress row (replicas take turns): windows from the
 * progress on that have closed (closedBefore(): the grace after their end, and, while the cell members'
 * readings still arrive, no later than they reached) are decided once; a reading staged for a window
 * already decided stays out, as on the per-occupancy path. The tenant's consent policy must name the
 * purpose for the dno: a tenant that removed it releases nothing.
 */
@Injectable()
export class NetworkReleaseUseCase {
  constructor(
    private readonly repository: NetworkReleaseRepository,
    private readonly policies: ConsentPolicies,
    private readonly producer: EventProducer,
    @Inject(CONFIG)
    private readonly config: Pick<
      PrivacyConfig,
      | 'PRIVACY_RELEASE_GRACE_S'
      | 'PRIVACY_RELEASE_LOOKBACK_DAYS'
      | 'PRIVACY_NETWORK_MIN_METERS'
      | 'PRIVACY_NETWORK_MAX_SHARE'
    >,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Answers how many cell totals went out. */
  async execute(now = new Date(), signal?: AbortSignal): Promise<number> {
    let released = 0;
    for (const tenantId of await this.repository.tenantsWithCells()) {
      if (signal?.aborted) break;
      try {
        released += await this.repository.database
          .transaction()
          .execute((trx) => this.releaseTenant(trx, tenantId, now));
      } catch (error) {
        this.logger.error(
          { tenantId, err: error },
          'network release failed; its windows wait for the next pass',
        );
      }
    }
    return released;
  }

  private async releaseTenant(trx: Executor, tenantId: string, now: Date): Promise<number> {
    const policy = await this.policies.forTenant(tenantId, trx);
    const purpose = ruleOf(policy, NETWORK_PURPOSE);
    if (!purpose?.recipients.includes('dno')) return 0;
    assertHalfHourZone(policy.timeZone, now.getTime());
    const since = floorHalfHour(now.getTime() - this.config.PRIVACY_RELEASE_LOOKBACK_DAYS * DAY_MS);
    const decided = Math.max(await this.repository.lockProgress(trx, tenantId), since);
    const stats = await this.repository.readingStats(trx, tenantId, new Date(decided));
    if (!stats) return 0;
    const closed = floorHalfHour(
      closedBefore({ now: now.getTime(), graceMs: this.config.PRIVACY_RELEASE_GRACE_S * 1000, ...stats }),
    );
    const from = floorHalfHour(stats.first);
    const to = Math.min(closed, from + MAX_WINDOWS_PER_PASS * HALF_HOUR_MS);
    if (to <= from) return 0;
    const rule: AggregateRule = {
      minMeters: this.config.PRIVACY_NETWORK_MIN_METERS,
      maxShare: this.config.PRIVACY_NETWORK_MAX_SHARE,
    };
    const totals = await this.repository.meterWindowTotals(trx, tenantId, new Date(from), new Date(to));
    // Per window and register, the meters' values: the rule holds for each register's total on its own.
    const groups = new Map<string, typeof totals>();
    for (const total of totals) {
      const key = `${total.windowStart}\0${total.obis}\0${total.unit}`;
      groups.set(key, [...(groups.get(key) ?? []), total]);
    }
    const cells = new Map<string, TelemetryReleasedAggregateEvent>();
    for (const [key, values] of [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const [start, obis, unit] = key.split('\0') as [string, string, string];
      const windowStart = Number(start);
      for (const outcome of aggregateCells(values, rule)) {
        if (!outcome.released) continue;
        const cellKey = `${windowStart}\0${outcome.cellId}`;
        const event = cells.get(cellKey) ?? {
          eventId: networkReleaseEventId(tenantId, outcome.cellId, 'half-hourly', windowStart),
          tenantId,
          occurredAt: now.toISOString(),
          recipient: 'dno' as const,
          purpose: NETWORK_PURPOSE,
          cellId: outcome.cellId,
          granularity: 'half-hourly' as const,
          windowStart: new Date(windowStart).toISOString(),
          windowEnd: new Date(windowStart + HALF_HOUR_MS).toISOString(),
          totals: [],
        };
        event.totals.push({ obis, unit, quantity: outcome.quantity, meterCount: outcome.meterCount });
        cells.set(cellKey, event);
      }
    }
    const events = [...cells.values()];
    const rows: NetworkReleasedRow[] = events.map((e) => ({
      tenantId,
      cellId: e.cellId,
      level: e.granularity,
      windowStart: new Date(e.windowStart),
      windowEnd: new Date(e.windowEnd),
      eventId: e.eventId,
      releasedAt: now,
    }));
    await this.repository.recordReleased(trx, rows);
    await this.repository.setProgress(trx, tenantId, new Date(to));
    this.logger.debug(
      { tenantId, from: new Date(from), to: new Date(to), released: events.length },
      'network release decided windows',
    );
    // Produced before the commit: a failed produce leaves the windows undecided.
    if (events.length > 0) await this.producer.publishMany(TELEMETRY_RELEASED_AGGREGATES, events);
    return events.length;
  }
}
