import { describe, expect, it } from 'vitest';
import {
  covers,
  firstOverlap,
  isBackdatedTooFar,
  isBackdatedWithin,
  isValidEnd,
  overlaps,
  type Period,
} from './occupancy-period';

const at = (day: number) => new Date(Date.UTC(2026, 0, day));
const period = (from: number, to?: number): Period => ({
  from: at(from),
  to: to === undefined ? null : at(to),
});

describe('occupancy periods', () => {
  it.each([
    ['identical closed periods', period(1, 10), period(1, 10), true],
    ['one inside the other', period(1, 10), period(3, 5), true],
    ['partly overlapping', period(1, 10), period(5, 15), true],
    ['one ending as the next starts (half-open)', period(1, 10), period(10, 20), false],
    ['disjoint', period(1, 5), period(6, 10), false],
    ['an open one and a later one', period(1), period(30, 40), true],
    ['an open one and an earlier closed one', period(10), period(1, 10), false],
    ['an open one and an earlier overlapping one', period(10), period(1, 11), true],
    ['two open ones', period(1), period(50), true],
  ])('%s: %s', (_, a, b, expected) => {
    expect(overlaps(a, b)).toBe(expected);
    expect(overlaps(b, a)).toBe(expected);
  });

  it('finds the existing period a new open-ended occupancy would overlap', () => {
    const existing = [
      { id: 'a', ...period(1, 10) },
      { id: 'b', ...period(10, 20) },
    ];
    expect(firstOverlap(period(20), existing)).toBeUndefined();
    expect(firstOverlap(period(15), existing)?.id).toBe('b');
    // Opening before an existing occupancy overlaps it: an open period runs on for ever.
    expect(firstOverlap(period(0), existing)?.id).toBe('a');
    expect(firstOverlap(period(5), [])).toBeUndefined();
  });

  it('covers its start but not its end', () => {
    expect(covers(period(1, 10), at(1))).toBe(true);
    expect(covers(period(1, 10), at(9))).toBe(true);
    expect(covers(period(1, 10), at(10))).toBe(false);
    expect(covers(period(1, 10), new Date(at(1).getTime() - 1))).toBe(false);
    expect(covers(period(1), at(1000))).toBe(true);
  });

  it('ends only after it starts', () => {
    expect(isValidEnd(at(1), at(2))).toBe(true);
    expect(isValidEnd(at(2), at(2))).toBe(false);
    expect(isValidEnd(at(3), at(2))).toBe(false);
  });

  it('bounds back-dating to the configured days (inclusive), never the future', () => {
    const now = at(100);
    expect(isBackdatedTooFar(at(10), now, 90)).toBe(false);
    expect(isBackdatedTooFar(new Date(at(10).getTime() - 1), now, 90)).toBe(true);
    expect(isBackdatedTooFar(at(200), now, 0)).toBe(false);
    expect(isBackdatedWithin(at(99), now, 90)).toBe(true);
    expect(isBackdatedWithin(at(100), now, 90)).toBe(false);
    expect(isBackdatedWithin(at(5), now, 90)).toBe(false);
  });
});
