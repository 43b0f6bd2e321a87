/**
 * The readings index (spec privacy.md §4.4, "bytes read ≤ 2 × the subject's own"): per meter, data key
 * and partition of telemetry.readings.v1, coalesced offset ranges of the meter's sealed records with the
 * reading times they hold. An export reads only the ranges whose times meet an occupancy, never a
 * partition scan.
 *
 * Coalescing rule: a record joins the meter's latest range only if the range, so extended, still spans
 * at most AMPLIFICATION × the records it holds. Every range therefore holds at least half of the offsets
 * it covers, and reading all of a meter's ranges fetches at most AMPLIFICATION × its own records (plus
 * one fetch per range); a quiet meter on a busy partition gets many short ranges instead of long ones.
 */
export const AMPLIFICATION = 2;

export interface ReadingRange {
  firstOffset: number;
  lastOffset: number;
  /** The meter's own records in [firstOffset, lastOffset]. */
  records: number;
  readingFrom: number;
  readingTo: number;
}

export interface IndexedRecord {
  offset: number;
  /** Earliest interval start and latest interval end of the readings the record holds (epoch ms). */
  readingFrom: number;
  readingTo: number;
}

export type RangeUpdate =
  | { kind: 'extend'; range: ReadingRange }
  | { kind: 'open'; range: ReadingRange }
  /** At or before the range's end: a redelivery after a crash, already indexed. */
  | { kind: 'seen' };

/** Where one record goes, given the latest range of its (meter, key, partition), if any. */
export function placeRecord(latest: ReadingRange | undefined, record: IndexedRecord): RangeUpdate {
  const single: ReadingRange = {
    firstOffset: record.offset,
    lastOffset: record.offset,
    records: 1,
    readingFrom: record.readingFrom,
    readingTo: record.readingTo,
  };
  if (!latest) return { kind: 'open', range: single };
  if (record.offset <= latest.lastOffset) return { kind: 'seen' };
  const records = latest.records + 1;
  const span = record.offset - latest.firstOffset + 1;
  if (span > AMPLIFICATION * records) return { kind: 'open', range: single };
  return {
    kind: 'extend',
    range: {
      firstOffset: latest.firstOffset,
      lastOffset: record.offset,
      records,
      readingFrom: Math.min(latest.readingFrom, record.readingFrom),
      readingTo: Math.max(latest.readingTo, record.readingTo),
    },
  };
}

/**
 * A slice's records of one (meter, key, partition), folded as placeRecord would place them one by one:
 * the latest range as extended (undefined: unchanged) and the ranges opened after it, in offset order.
 */
export function placeRecords(
  latest: ReadingRange | undefined,
  records: readonly IndexedRecord[],
): { extended: ReadingRange | undefined; opened: ReadingRange[] } {
  let extended: ReadingRange | undefined;
  const opened: ReadingRange[] = [];
  for (const record of [...records].sort((a, b) => a.offset - b.offset)) {
    const current = opened.at(-1) ?? extended ?? latest;
    const update = placeRecord(current, record);
    if (update.kind === 'seen') continue;
    if (update.kind === 'open') opened.push(update.range);
    else if (opened.length > 0) opened[opened.length - 1] = update.range;
    else extended = update.range;
  }
  return { extended, opened };
}

/** The reading times a record is indexed under: its earliest and latest interval start (+1 ms). */
export function readingBounds(
  readings: readonly { intervalStart: string }[],
): Pick<IndexedRecord, 'readingFrom' | 'readingTo'> {
  const starts = readings.map((r) => Date.parse(r.intervalStart));
  return { readingFrom: Math.min(...starts), readingTo: Math.max(...starts) + 1 };
}

/** Whether a range may hold readings of the period [from, to) (to null: open). */
export function rangeMeets(
  range: Pick<ReadingRange, 'readingFrom' | 'readingTo'>,
  from: number,
  to: number | null,
) {
  return range.readingTo > from && (to === null || range.readingFrom < to);
}

/**
 * The backfill's ranges for one (meter, key, partition): the records no existing range covers, coalesced
 * as placeRecords would, but never across an existing range, so ranges never overlap and a record is
 * indexed once however often (or concurrently) the backfill runs.
 */
export function backfillRanges(
  existing: readonly Pick<ReadingRange, 'firstOffset' | 'lastOffset'>[],
  records: readonly IndexedRecord[],
): ReadingRange[] {
  const sorted = [...existing].sort((a, b) => a.firstOffset - b.firstOffset);
  const segments = new Map<number, IndexedRecord[]>();
  for (const record of records) {
    if (sorted.some((r) => record.offset >= r.firstOffset && record.offset <= r.lastOffset)) continue;
    // The gap between existing ranges the record lies in: ranges are coalesced within a gap only.
    const gap = sorted.filter((r) => r.lastOffset < record.offset).length;
    segments.set(gap, [...(segments.get(gap) ?? []), record]);
  }
  return [...segments.values()].flatMap((segment) => placeRecords(undefined, segment).opened);
}
