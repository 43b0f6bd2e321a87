import { Inject, Injectable } from '@nestjs/common';
import type { TelemetryReadingEvent } from '@meterkeep/contracts';
import { PermanentEventError, RefusedRecordsError } from '@meterkeep/kafka';
import { openReadings } from '@meterkeep/reading-seal';
import { CONFIG } from '@meterkeep/service-runtime';
import type { PrivacyConfig } from '../config';
import type { DataKeyRow, OccupancyRow } from '../core/database';
import { DataKeyVault } from '../data-keys/data-key-vault';
import type { RecordPlace } from '../exports/reading-ranges.repository';
import { ReadingRangesRepository } from '../exports/reading-ranges.repository';
import { type IndexedRecord, readingBounds } from '../exports/reading-ranges';
import { KekEpochUnavailableError } from '../key-epochs/kek-ring';
import { isReleasable } from './release-plan';
import { type NewStagedReading, ReleaseRepository } from './release.repository';

export type StageOutcome = 'staged' | 'erased' | 'vacancy';

/** Where the record lies on telemetry.readings.v1, for the readings index (exports/reading-ranges.ts). */
export interface RecordPosition {
  partition: number;
  offset: number;
}

/** One telemetry.readings.v1 record of a slice, and where it lies (unindexed without). */
export interface SealedRecord {
  event: TelemetryReadingEvent;
  position?: RecordPosition;
}

/** What one record comes to before anything is written: its outcome, or the reason it is refused. */
type Verdict =
  | {
      outcome: StageOutcome;
      readings: NewStagedReading[];
      indexed?: { place: RecordPlace; record: IndexedRecord };
    }
  | { refused: string };

/**
 * A slice of telemetry.readings.v1 records into the release gate: each opened with the key that sealed
 * it, its interval readings that fall in the occupancy kept until their windows are released, and the
 * occupancies marked due for the gate in the same statement (release_schedule). The slice's data keys
 * and occupancies are read once, each key unwrapped once; its readings go in one insert and its index
 * entries (exports/reading-ranges.ts) in the same transaction. The offsets are committed only after
 * this returns, so a crash re-stages (idempotently) what was not yet kept.
 *
 * Refused (nothing of the slice written): a key the vault does not know, a record that does not open
 * under its key, an unknown occupancy, a destroyed KEK epoch. A slice names its refused records
 * (RefusedRecordsError, each with its reason): the consumer dead-letters just those and hands the rest
 * over again, at once; a record alone is refused with its reason (PermanentEventError). Not released, and committed: a record under a
 * destroyed key (the occupancy was erased) and one under a meter's own key (time no occupancy covers:
 * nobody's data).
 */
@Injectable()
export class StageReadingsUseCase {
  constructor(
    private readonly repository: ReleaseRepository,
    private readonly vault: DataKeyVault,
    private readonly index: ReadingRangesRepository,
    @Inject(CONFIG) private readonly config: Pick<PrivacyConfig, 'PRIVACY_RELEASE_GRACE_S'>,
  ) {}

  async execute(records: readonly SealedRecord[]): Promise<StageOutcome[]> {
    if (records.length === 0) return [];
    const keys = await this.dataKeys(records);
    const occupancies = await this.occupancies(records, keys);
    const opened = new Map<string, Promise<Buffer | undefined>>();
    let verdicts: Verdict[];
    try {
      verdicts = [];
      for (const record of records) verdicts.push(await this.judge(record, keys, occupancies, opened));
    } finally {
      for (const key of opened.values())
        void key.then(
          (k) => k?.fill(0),
          () => undefined,
        );
    }
    const refused = verdicts.flatMap((v, i) => ('refused' in v ? [{ i, reason: v.refused }] : []));
    if (refused.length > 0)
      throw records.length === 1
        ? new PermanentEventError(refused[0]!.reason)
        : new RefusedRecordsError(refused.map(({ i, reason }) => ({ index: i, reason })));
    const kept = verdicts as Exclude<Verdict, { refused: string }>[];
    const indexed = kept.flatMap((v) => (v.indexed ? [v.indexed] : []));
    const readings = kept.flatMap((v) => v.readings);
    if (indexed.length > 0 || readings.length > 0)
      await this.repository.database.transaction().execute(async (trx) => {
        // Indexed by the reading times each record holds (a meter key's records too: a back-dated
        // occupancy may cover them), so a subject access export reads those records and not the
        // partition around them.
        await this.index.addAll(trx, indexed);
        // Due when the first new reading's window could close: the gate plans it then, not every pass.
        await this.repository.stage(trx, readings, this.config.PRIVACY_RELEASE_GRACE_S);
      });
    return kept.map((v) => v.outcome);
  }

  /** The slice's data keys by id, one look-up per tenant (a slice rarely holds more than one). */
  private async dataKeys(records: readonly SealedRecord[]): Promise<Map<string, DataKeyRow>> {
    const byTenant = groupIds(records.map(({ event }) => [event.tenantId, event.keyId]));
    const rows = await Promise.all(
      [...byTenant].map(([tenantId, keyIds]) => this.repository.findDataKeys(tenantId, keyIds)),
    );
    return new Map(rows.flat().map((row) => [row.key_id, row]));
  }

  private async occupancies(
    records: readonly SealedRecord[],
    keys: ReadonlyMap<string, DataKeyRow>,
  ): Promise<Map<string, OccupancyRow>> {
    const byTenant = groupIds(
      records.flatMap(({ event }) => {
        const key = keys.get(event.keyId);
        return key?.occupancy_id && key.wrapped_key !== null ? [[event.tenantId, key.occupancy_id]] : [];
      }),
    );
    const rows = await Promise.all(
      [...byTenant].map(([tenantId, ids]) => this.repository.findOccupancies(tenantId, ids)),
    );
    return new Map(rows.flat().map((row) => [`${row.tenant_id}\n${row.occupancy_id}`, row]));
  }

  /** One record's verdict, as the gate has always judged a record alone. */
  private async judge(
    { event, position }: SealedRecord,
    keys: ReadonlyMap<string, DataKeyRow>,
    occupancies: ReadonlyMap<string, OccupancyRow>,
    opened: Map<string, Promise<Buffer | undefined>>,
  ): Promise<Verdict> {
    const dataKey = keys.get(event.keyId);
    if (!dataKey || dataKey.tenant_id !== event.tenantId || dataKey.meter_id !== event.meterId)
      return { refused: `unknown-key: ${event.keyId} is not a data key of this meter` };
    if (dataKey.wrapped_key === null) return { outcome: 'erased', readings: [] };
    const occupancy =
      dataKey.occupancy_id === null
        ? undefined
        : occupancies.get(`${event.tenantId}\n${dataKey.occupancy_id}`);
    if (dataKey.occupancy_id !== null && !occupancy)
      return { refused: `unknown-occupancy: ${dataKey.occupancy_id}` };
    let unwrapping = opened.get(dataKey.key_id);
    if (!unwrapping) {
      unwrapping = this.vault.open(dataKey).catch((error: unknown) => {
        // A meter key's record is nobody's data: one that cannot be opened is committed as before, unindexed.
        if (!occupancy) return undefined;
        throw error;
      });
      opened.set(dataKey.key_id, unwrapping);
    }
    let key: Buffer | undefined;
    try {
      key = await unwrapping;
    } catch (error) {
      // Its KEK epoch was destroyed: the key is gone for good, like an erased one.
      if (error instanceof KekEpochUnavailableError) return { refused: `key-unavailable: ${error.message}` };
      throw error;
    }
    if (!key) return { outcome: 'vacancy', readings: [] };
    let readings;
    try {
      ({ readings } = openReadings(event, key));
    } catch (error) {
      if (!occupancy) return { outcome: 'vacancy', readings: [] };
      return { refused: `seal-invalid: ${(error as Error).message}` };
    }
    const indexed =
      position && readings.length > 0
        ? {
            place: {
              tenantId: event.tenantId,
              meterId: event.meterId,
              keyId: event.keyId,
              partition: position.partition,
            },
            record: { offset: position.offset, ...readingBounds(readings) },
          }
        : undefined;
    if (!occupancy) return { outcome: 'vacancy', readings: [], indexed };
    const from = occupancy.valid_from.getTime();
    const to = occupancy.valid_to?.getTime() ?? Number.POSITIVE_INFINITY;
    return {
      outcome: 'staged',
      indexed,
      readings: readings
        .map((r) => ({
          tenantId: event.tenantId,
          occupancyId: occupancy.occupancy_id,
          obis: r.obis,
          unit: r.unit,
          intervalStart: Date.parse(r.intervalStart),
          intervalMinutes: r.intervalMinutes,
          quantity: r.value * 10 ** r.scaler,
        }))
        // Sealed by reading time: a reading outside the occupancy (a back-dated move-out) is not its data.
        .filter((r) => isReleasable(r) && r.intervalStart >= from && r.intervalStart < to),
    };
  }
}

/** [tenant, id] pairs as each tenant's distinct ids. */
function groupIds(pairs: readonly (readonly [string, string])[]): Map<string, string[]> {
  const byTenant = new Map<string, Set<string>>();
  for (const [tenantId, id] of pairs) byTenant.set(tenantId, (byTenant.get(tenantId) ?? new Set()).add(id));
  return new Map([...byTenant].map(([tenantId, ids]) => [tenantId, [...ids]]));
}
