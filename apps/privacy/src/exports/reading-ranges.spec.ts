import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AMPLIFICATION,
  type ReadingRange,
  backfillRanges,
  placeRecord,
  placeRecords,
  rangeMeets,
} from './reading-ranges';

const at = (offset: number) => ({ offset, readingFrom: offset * 10, readingTo: offset * 10 + 5 });

/** Indexes a meter's offsets (ascending, with redeliveries) as the consumer does. */
function index(offsets: number[]): ReadingRange[] {
  const ranges: ReadingRange[] = [];
  for (const offset of offsets) {
    const update = placeRecord(ranges.at(-1), at(offset));
    if (update.kind === 'open') ranges.push(update.range);
    else if (update.kind === 'extend') ranges[ranges.length - 1] = update.range;
  }
  return ranges;
}

describe('readings index: coalesced offset ranges', () => {
  it('coalesces a meter whose records are every other offset, and opens a new range after a long gap', () => {
    expect(index([10, 12, 14, 16, 100, 101])).toEqual([
      { firstOffset: 10, lastOffset: 16, records: 4, readingFrom: 100, readingTo: 165 },
      { firstOffset: 100, lastOffset: 101, records: 2, readingFrom: 1000, readingTo: 1015 },
    ]);
  });

  it('a redelivered record is seen, not counted twice', () => {
    expect(index([5, 6, 6, 5, 7])).toEqual([
      { firstOffset: 5, lastOffset: 7, records: 3, readingFrom: 50, readingTo: 75 },
    ]);
  });

  it('property: every own offset lies in exactly one range; the offsets covered are ≤ 2× the own records', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat({ max: 5_000 }), { minLength: 1, maxLength: 300 }), (raw) => {
        const offsets = [...raw].sort((a, b) => a - b);
        const ranges = index(offsets);
        for (const offset of offsets)
          expect(ranges.filter((r) => r.firstOffset <= offset && offset <= r.lastOffset)).toHaveLength(1);
        const covered = ranges.reduce((sum, r) => sum + r.lastOffset - r.firstOffset + 1, 0);
        expect(covered).toBeLessThanOrEqual(AMPLIFICATION * offsets.length);
        expect(ranges.reduce((sum, r) => sum + r.records, 0)).toBe(offsets.length);
      }),
    );
  });

  it('property: a slice folded at once (placeRecords) leaves the ranges one by one would', () => {
    const offsets = fc
      .uniqueArray(fc.nat({ max: 2_000 }), { maxLength: 120 })
      .map((xs) => xs.sort((a, b) => a - b));
    fc.assert(
      fc.property(offsets, offsets, fc.nat({ max: 30 }), (before, raw, redelivered) => {
        const earlier = index(before);
        // The slice: later offsets, and some already indexed again (a redelivery), in any order.
        const slice = [...raw.map((o) => o + 2_001), ...before.slice(-redelivered)].reverse().map(at);
        const latest = earlier.at(-1);
        const { extended, opened } = placeRecords(latest, slice);
        const folded = [...earlier.slice(0, -1), ...(latest ? [extended ?? latest] : []), ...opened];
        expect(folded).toEqual(index([...before, ...[...slice].map((r) => r.offset).sort((a, b) => a - b)]));
      }),
    );
  });

  it('a range meets a period when their times overlap ([from, to), open end)', () => {
    const range = { readingFrom: 100, readingTo: 200 };
    expect(rangeMeets(range, 200, 300)).toBe(false);
    expect(rangeMeets(range, 0, 100)).toBe(false);
    expect(rangeMeets(range, 150, null)).toBe(true);
    expect(rangeMeets(range, 0, 101)).toBe(true);
  });
});

describe('backfillRanges: the records the index misses, never overlapping what it holds', () => {
  const rec = (offset: number, at = offset * 1000) => ({ offset, readingFrom: at, readingTo: at + 1 });

  it('coalesces uncovered records as the live indexer would', () => {
    expect(backfillRanges([], [rec(3), rec(1), rec(2)])).toEqual([
      { firstOffset: 1, lastOffset: 3, records: 3, readingFrom: 1000, readingTo: 3001 },
    ]);
  });

  it('skips covered records and never spans an existing range', () => {
    const existing = [{ firstOffset: 10, lastOffset: 12 }];
    const ranges = backfillRanges(existing, [rec(9), rec(11), rec(13)]);
    expect(ranges.map((r) => [r.firstOffset, r.lastOffset])).toEqual([
      [9, 9],
      [13, 13],
    ]);
  });

  it('adds nothing once every record is covered (a second run)', () => {
    const first = backfillRanges([], [rec(1), rec(2), rec(50)]);
    expect(backfillRanges(first, [rec(1), rec(2), rec(50)])).toEqual([]);
  });
});
