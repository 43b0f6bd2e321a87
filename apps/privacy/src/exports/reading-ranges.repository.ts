import { Inject, Injectable } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { PrivacyDb, ReadingRangeRow } from '../core/database';
import { type IndexedRecord, type ReadingRange, placeRecord } from './reading-ranges';

export interface RecordPlace {
  tenantId: string;
  meterId: string;
  keyId: string;
  partition: number;
}

const toRange = (row: ReadingRangeRow): ReadingRange => ({
  firstOffset: Number(row.first_offset),
  lastOffset: Number(row.last_offset),
  records: row.records,
  readingFrom: row.reading_from.getTime(),
  readingTo: row.reading_to.getTime(),
});

/** The readings index (reading-ranges.ts) in PostgreSQL: written by the release consumer, read by exports. */
@Injectable()
export class ReadingRangesRepository {
  constructor(@Inject(DATABASE) private readonly db: Kysely<PrivacyDb>) {}

  /**
   * Adds one record. The latest range of its (meter, key, partition) is locked while it is extended, and
   * a range is opened with ON CONFLICT DO NOTHING: a redelivery, or a second replica during a
   * rebalance, leaves the index as one delivery would.
   */
  async add(place: RecordPlace, record: IndexedRecord): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const latest = await trx
        .selectFrom('reading_ranges')
        .selectAll()
        .where('tenant_id', '=', place.tenantId)
        .where('meter_id', '=', place.meterId)
        .where('key_id', '=', place.keyId)
        .where('partition', '=', place.partition)
        .orderBy('first_offset', 'desc')
        .limit(1)
        .forUpdate()
        .executeTakeFirst();
      const update = placeRecord(latest && toRange(latest), record);
      if (update.kind === 'seen') return;
      const { range } = update;
      const row = {
        tenant_id: place.tenantId,
        meter_id: place.meterId,
        key_id: place.keyId,
        partition: place.partition,
        first_offset: range.firstOffset,
        last_offset: range.lastOffset,
        records: range.records,
        reading_from: new Date(range.readingFrom),
        reading_to: new Date(range.readingTo),
      };
      if (update.kind === 'open') {
        await trx
          .insertInto('reading_ranges')
          .values(row)
          .onConflict((oc) => oc.doNothing())
          .execute();
      } else {
        await trx
          .updateTable('reading_ranges')
          .set({
            last_offset: row.last_offset,
            records: row.records,
            reading_from: row.reading_from,
            reading_to: row.reading_to,
          })
          .where('tenant_id', '=', place.tenantId)
          .where('meter_id', '=', place.meterId)
          .where('key_id', '=', place.keyId)
          .where('partition', '=', place.partition)
          .where('first_offset', '=', String(range.firstOffset))
          .execute();
      }
    });
  }

  /** The ranges of a meter whose reading times meet [from, to) (to null: open), in offset order. */
  async meeting(tenantId: string, meterId: string, from: Date, to: Date | null): Promise<ReadingRangeRow[]> {
    let query = this.db
      .selectFrom('reading_ranges')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('meter_id', '=', meterId)
      .where('reading_to', '>', from);
    if (to) query = query.where('reading_from', '<', to);
    return query.orderBy('partition').orderBy('first_offset').execute();
  }
}
