import { Inject, Injectable } from '@nestjs/common';
import type { TelemetryReadingEvent } from '@meterkeep/contracts';
import { PermanentEventError } from '@meterkeep/kafka';
import { openReadings } from '@meterkeep/reading-seal';
import { CONFIG } from '@meterkeep/service-runtime';
import type { PrivacyConfig } from '../config';
import { DataKeyVault } from '../data-keys/data-key-vault';
import { ReadingRangesRepository } from '../exports/reading-ranges.repository';
import { KekEpochUnavailableError } from '../key-epochs/kek-ring';
import { isReleasable } from './release-plan';
import { ReleaseRepository } from './release.repository';

export type StageOutcome = 'staged' | 'erased' | 'vacancy';

/** Where the record lies on telemetry.readings.v1, for the readings index (exports/reading-ranges.ts). */
export interface RecordPosition {
  partition: number;
  offset: number;
}

/**
 * One telemetry.readings.v1 record into the release gate: opened with the key that sealed it, its
 * interval readings that fall in the occupancy kept until their windows are released, and the
 * occupancy marked due for the gate in the same statement (release_schedule). The offset is
 * committed only after this returns, so a crash re-stages (idempotently) what was not yet kept.
 *
 * Dead-lettered (PermanentEventError, with the reason): a key the vault does not know, and a record
 * that does not open under its key. Not released, and committed: a record under a destroyed key (the
 * occupancy was erased) and one under a meter's own key (time no occupancy covers: nobody's data).
 */
@Injectable()
export class StageReadingsUseCase {
  constructor(
    private readonly repository: ReleaseRepository,
    private readonly vault: DataKeyVault,
    private readonly index: ReadingRangesRepository,
    @Inject(CONFIG) private readonly config: Pick<PrivacyConfig, 'PRIVACY_RELEASE_GRACE_S'>,
  ) {}

  async execute(event: TelemetryReadingEvent, position?: RecordPosition): Promise<StageOutcome> {
    const dataKey = await this.repository.findDataKey(event.tenantId, event.keyId);
    if (!dataKey || dataKey.meter_id !== event.meterId)
      throw new PermanentEventError(`unknown-key: ${event.keyId} is not a data key of this meter`);
    if (dataKey.wrapped_key === null) return 'erased';
    const occupancy =
      dataKey.occupancy_id === null
        ? undefined
        : await this.repository.findOccupancy(event.tenantId, dataKey.occupancy_id);
    if (dataKey.occupancy_id !== null && !occupancy)
      throw new PermanentEventError(`unknown-occupancy: ${dataKey.occupancy_id}`);
    const key = await this.vault.open(dataKey).catch((error: unknown) => {
      // A meter key's record is nobody's data: one that cannot be opened is committed as before, unindexed.
      if (!occupancy) return undefined;
      // Its KEK epoch was destroyed: the key is gone for good, like an erased one.
      if (error instanceof KekEpochUnavailableError)
        throw new PermanentEventError(`key-unavailable: ${error.message}`);
      throw error;
    });
    if (!key) return 'vacancy';
    let opened;
    try {
      opened = openReadings(event, key);
    } catch (error) {
      if (!occupancy) return 'vacancy';
      throw new PermanentEventError(`seal-invalid: ${(error as Error).message}`);
    } finally {
      key.fill(0);
    }
    // Indexed by the reading times it holds (a meter key's records too: a back-dated occupancy may
    // cover them), so a subject access export reads this record and not the partition around it.
    if (position && opened.readings.length > 0) {
      const starts = opened.readings.map((r) => Date.parse(r.intervalStart));
      await this.index.add(
        {
          tenantId: event.tenantId,
          meterId: event.meterId,
          keyId: event.keyId,
          partition: position.partition,
        },
        { offset: position.offset, readingFrom: Math.min(...starts), readingTo: Math.max(...starts) + 1 },
      );
    }
    if (!occupancy) return 'vacancy';
    const from = occupancy.valid_from.getTime();
    const to = occupancy.valid_to?.getTime() ?? Number.POSITIVE_INFINITY;
    await this.repository.stage(
      opened.readings
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
      // Due when the first new reading's window could close: the gate plans it then, not every pass.
      this.config.PRIVACY_RELEASE_GRACE_S,
    );
    return 'staged';
  }
}
