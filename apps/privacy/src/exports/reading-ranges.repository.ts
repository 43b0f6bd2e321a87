import { Inject, Injectable } from '@nestjs/common';
import { type Kysely, sql } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { Executor, PrivacyDb, ReadingRangeRow } from '../core/database';
import { type IndexedRecord, type ReadingRange, backfillRanges, placeRecords } from './reading-ranges';

export interface RecordPlace {
  tenantId: string;
  meterId: string;
  keyId: string;
  partition: number;
}

const toRow = (place: RecordPlace, range: ReadingRange): ReadingRangeRow => ({
  tenant_id: place.tenantId,
  meter_id: place.meterId,
  key_id: place.keyId,
  partition: place.partition,
  first_offset: String(range.firstOffset),
  last_offset: String(range.lastOffset),
  records: range.records,
  reading_from: new Date(range.readingFrom),
  reading_to: new Date(range.readingTo),
});

const toRange = (row: ReadingRangeRow): ReadingRange => ({
  firstOffset: Number(row.first_offset),
  lastOffset: Number(row.last_offset),
  records: row.records,
  readingFrom: row.reading_from.getTime(),
  readingTo: row.reading_to.getTime(),
});

const placeId = (place: RecordPlace) =>
  JSON.stringify([place.tenantId, place.meterId, place.keyId, place.partition]);

function groupByPlace(
  entries: readonly { place: RecordPlace; record: IndexedRecord }[],
): Map<string, { place: RecordPlace; records: IndexedRecord[] }> {
  const byPlace = new Map<string, { place: RecordPlace; records: IndexedRecord[] }>();
  for (const { place, record } of entries) {
    const id = placeId(place);
    const group = byPlace.get(id) ?? { place, records: [] };
    group.records.push(record);
    byPlace.set(id, group);
  }
  return byPlace;
}

/** The readings index (reading-ranges.ts) in PostgreSQL: written by the release consumer, read by exports. */
@Injectable()
export class ReadingRangesRepository {
  constructor(@Inject(DATABASE) private readonly db: Kysely<PrivacyDb>) {}

  /**
   * Adds a slice's records, in the caller's transaction: the latest range of each (meter, key, partition)
   * is read and locked (places in one order, so concurrent slices cannot deadlock), the records are
   * folded in as placeRecord would one by one, then one insert opens the new ranges (ON CONFLICT DO
   * NOTHING) and one update extends the latest ones. A redelivery, or a second replica during a
   * rebalance, leaves the index as one delivery would.
   */
  async addAll(
    executor: Executor,
    entries: readonly { place: RecordPlace; record: IndexedRecord }[],
  ): Promise<void> {
    const byPlace = groupByPlace(entries);
    if (byPlace.size === 0) return;
    const ids = [...byPlace.keys()].sort();
    const groups = ids.map((id) => byPlace.get(id)!);
    const places = groups.map((g) => g.place);
    const { rows: latestRows } = await sql<ReadingRangeRow>`
      select r.* from unnest(
        ${places.map((p) => p.tenantId)}::text[],
        ${places.map((p) => p.meterId)}::text[],
        ${places.map((p) => p.keyId)}::text[],
        ${places.map((p) => p.partition)}::integer[]
      ) with ordinality as p (tenant_id, meter_id, key_id, partition, ord)
      cross join lateral (
        select * from reading_ranges rr
        where rr.tenant_id = p.tenant_id and rr.meter_id = p.meter_id
          and rr.key_id = p.key_id and rr.partition = p.partition
        order by rr.first_offset desc
        limit 1
        for update
      ) r
      order by p.ord`.execute(executor);
    const latest = new Map(
      latestRows.map((row) => [
        placeId({
          tenantId: row.tenant_id,
          meterId: row.meter_id,
          keyId: row.key_id,
          partition: row.partition,
        }),
        toRange(row),
      ]),
    );
    const opened: ReadingRangeRow[] = [];
    const extended: ReadingRangeRow[] = [];
    for (const [i, id] of ids.entries()) {
      const { place, records } = groups[i]!;
      const placed = placeRecords(latest.get(id), records);
      if (placed.extended) extended.push(toRow(place, placed.extended));
      opened.push(...placed.opened.map((range) => toRow(place, range)));
    }
    if (opened.length > 0)
      await executor
        .insertInto('reading_ranges')
        .values(opened)
        .onConflict((oc) => oc.doNothing())
        .execute();
    if (extended.length > 0)
      await sql`
        update reading_ranges r
        set last_offset = v.last_offset, records = v.records,
            reading_from = v.reading_from, reading_to = v.reading_to
        from unnest(
          ${extended.map((r) => r.tenant_id)}::text[],
          ${extended.map((r) => r.meter_id)}::text[],
          ${extended.map((r) => r.key_id)}::text[],
          ${extended.map((r) => r.partition)}::integer[],
          ${extended.map((r) => r.first_offset)}::bigint[],
          ${extended.map((r) => r.last_offset)}::bigint[],
          ${extended.map((r) => r.records)}::integer[],
          ${extended.map((r) => r.reading_from.toISOString())}::timestamptz[],
          ${extended.map((r) => r.reading_to.toISOString())}::timestamptz[]
        ) as v (tenant_id, meter_id, key_id, partition, first_offset, last_offset, records, reading_from, reading_to)
        where r.tenant_id = v.tenant_id and r.meter_id = v.meter_id and r.key_id = v.key_id
          and r.partition = v.partition and r.first_offset = v.first_offset`.execute(executor);
  }

  /**
   * The backfill's records (exports/readings-backfill.ts), in the caller's transaction: those no range
   * of their (meter, key, partition) covers are opened as ranges of their own, never across an existing
   * one (reading-ranges.ts backfillRanges). Returns how many records were indexed: 0 for records already
   * there, whoever indexed them.
   */
  async addBackfilled(
    executor: Executor,
    entries: readonly { place: RecordPlace; record: IndexedRecord }[],
  ): Promise<number> {
    const byPlace = groupByPlace(entries);
    if (byPlace.size === 0) return 0;
    const groups = [...byPlace.values()];
    const offsets = entries.map((e) => e.record.offset);
    const places = groups.map((g) => g.place);
    const { rows } = await sql<ReadingRangeRow>`
      select rr.* from unnest(
        ${places.map((p) => p.tenantId)}::text[],
        ${places.map((p) => p.meterId)}::text[],
        ${places.map((p) => p.keyId)}::text[],
        ${places.map((p) => p.partition)}::integer[]
      ) as p (tenant_id, meter_id, key_id, partition)
      join reading_ranges rr on rr.tenant_id = p.tenant_id and rr.meter_id = p.meter_id
        and rr.key_id = p.key_id and rr.partition = p.partition
      where rr.last_offset >= ${Math.min(...offsets)} and rr.first_offset <= ${Math.max(...offsets)}`.execute(
      executor,
    );
    const existing = new Map<string, ReadingRange[]>();
    for (const row of rows) {
      const id = placeId({
        tenantId: row.tenant_id,
        meterId: row.meter_id,
        keyId: row.key_id,
        partition: row.partition,
      });
      existing.set(id, [...(existing.get(id) ?? []), toRange(row)]);
    }
    const opened = [...byPlace].flatMap(([id, { place, records }]) =>
      backfillRanges(existing.get(id) ?? [], records).map((range) => toRow(place, range)),
    );
    if (opened.length === 0) return 0;
    const inserted = await executor
      .insertInto('reading_ranges')
      .values(opened)
      .onConflict((oc) => oc.doNothing())
      .returning('records')
      .execute();
    return inserted.reduce((sum, row) => sum + row.records, 0);
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
