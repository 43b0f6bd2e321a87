import { Inject, Injectable } from '@nestjs/common';
import { type MeterReading, TELEMETRY_READINGS, telemetryReadingEvent } from '@meterkeep/contracts';
import { type KafkaClient, type OffsetRange, readOffsetRanges } from '@meterkeep/kafka';
import { KAFKA_CLIENT } from '@meterkeep/kafka/nest';
import { openReadings } from '@meterkeep/reading-seal';
import type { DataKeyRow, OccupancyRow } from '../core/database';
import { DataKeyVault } from '../data-keys/data-key-vault';
import { ExportsRepository } from './exports.repository';
import { ReadingRangesRepository } from './reading-ranges.repository';

/**
 * Fetch size per partition for the ranges' reads: a broker hands over at least the record batch that
 * holds the offset asked for, and up to this many bytes of the batches after it. About one sealed day
 * (~8 KB for 48 readings), so a one-record range does not pull 256 KB of other meters' records behind it
 * (bench: 32× the subject's ciphertext fetched at 256 KB, see test/bench/README.md).
 */
const RANGE_FETCH_BYTES = 16 * 1024;

export interface OccupancyReadings {
  occupancy: OccupancyRow;
  readings: MeterReading[];
}

export interface ReadingsCost {
  /** Records of the subject's meters inside the indexed ranges (theirs, whoever's period they hold). */
  own: number;
  /** Every record Kafka handed over to find them (other meters' records inside ranges included). */
  fetched: number;
  /** Records under a destroyed or unavailable key: erased, left out. */
  unreadable: number;
}

/**
 * The subject's readings, read from telemetry.readings.v1 through the readings index only: per meter,
 * the ranges whose reading times meet one of the subject's occupancies, opened with the key that sealed
 * each record; a reading is the occupancy's only when its time lies in [valid_from, valid_to). Records
 * of other meters inside a range are skipped unopened; readings of another occupant (back-to-back or
 * back-dated periods, sealed under any key) fall outside every period and are dropped.
 */
@Injectable()
export class SubjectReadings {
  constructor(
    private readonly index: ReadingRangesRepository,
    private readonly exports: ExportsRepository,
    private readonly vault: DataKeyVault,
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
  ) {}

  async read(
    tenantId: string,
    occupancies: readonly OccupancyRow[],
  ): Promise<{
    perOccupancy: OccupancyReadings[];
    cost: ReadingsCost;
  }> {
    const cost: ReadingsCost = { own: 0, fetched: 0, unreadable: 0 };
    const collected = new Map<string, Map<string, MeterReading>>(
      occupancies.map((o) => [o.occupancy_id, new Map()]),
    );
    const byMeter = new Map<string, OccupancyRow[]>();
    for (const o of occupancies) byMeter.set(o.meter_id, [...(byMeter.get(o.meter_id) ?? []), o]);
    for (const [meterId, periods] of byMeter) {
      const ranges = new Map<string, OffsetRange>();
      for (const o of periods)
        for (const r of await this.index.meeting(tenantId, meterId, o.valid_from, o.valid_to))
          ranges.set(`${r.partition}:${r.first_offset}`, {
            partition: r.partition,
            firstOffset: Number(r.first_offset),
            lastOffset: Number(r.last_offset),
          });
      const keys = new Map<string, Promise<Buffer | undefined>>();
      const keyOf = (keyId: string) => {
        let key = keys.get(keyId);
        if (!key) {
          key = this.exports
            .dataKey(tenantId, keyId)
            .then((row: DataKeyRow | undefined) =>
              row && row.meter_id === meterId && row.wrapped_key !== null
                ? this.vault.open(row).catch(() => undefined)
                : undefined,
            );
          keys.set(keyId, key);
        }
        return key;
      };
      const report = await readOffsetRanges(
        this.kafka,
        TELEMETRY_READINGS.name,
        [...ranges.values()],
        async ({ value }) => {
          if (!value) return;
          const parsed = telemetryReadingEvent.safeParse(JSON.parse(value.toString('utf8')));
          // Another meter's record inside the range (or not a reading envelope): not opened.
          if (!parsed.success || parsed.data.tenantId !== tenantId || parsed.data.meterId !== meterId) return;
          cost.own += 1;
          const key = await keyOf(parsed.data.keyId);
          if (!key) {
            cost.unreadable += 1;
            return;
          }
          const opened = openReadings(parsed.data, key);
          for (const reading of opened.readings) {
            const at = Date.parse(reading.intervalStart);
            for (const o of periods) {
              const inPeriod =
                at >= o.valid_from.getTime() && (o.valid_to === null || at < o.valid_to.getTime());
              if (inPeriod)
                collected
                  .get(o.occupancy_id)!
                  .set(`${reading.obis}|${reading.intervalStart}|${reading.intervalMinutes}`, reading);
            }
          }
        },
        { groupPrefix: 'privacy-export', maxBytesPerPartition: RANGE_FETCH_BYTES },
      );
      for (const key of keys.values()) void key.then((k) => k?.fill(0));
      cost.fetched += report.fetched;
    }
    return {
      perOccupancy: occupancies.map((occupancy) => ({
        occupancy,
        readings: [...collected.get(occupancy.occupancy_id)!.values()].sort(
          (a, b) => a.intervalStart.localeCompare(b.intervalStart) || a.obis.localeCompare(b.obis),
        ),
      })),
      cost,
    };
  }
}
