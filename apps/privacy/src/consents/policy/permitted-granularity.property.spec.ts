import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONSENT_BASES,
  CONSENT_STATUSES,
  CONSUMER_CLASSES,
  GB_PRESET,
  GRANULARITIES,
  type LedgerEntry,
  type OccupancyTerms,
  isEffectiveAt,
  permissionTimeline,
  permittedGranularity,
  rank,
} from './index';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const PURPOSES = [...Object.keys(GB_PRESET.purposes), 'unknown-purpose'];
const RECIPIENTS = ['supplier', 'dno', 'third-party:coach', 'third-party:other'];
const OCCUPANCIES = ['occ-a', 'occ-b'];

const instant = fc.integer({ min: 0, max: 120 * DAY }).map((ms) => new Date(T0 + ms));

const occupancyTerms = (occupancyId: string) =>
  fc
    .record({
      from: fc.integer({ min: 0, max: 30 * DAY }),
      length: fc.option(fc.integer({ min: 1, max: 120 * DAY }), { nil: null }),
      consumerClass: fc.constantFrom(...CONSUMER_CLASSES),
      contractDate: fc.option(fc.integer({ min: Date.UTC(2015, 0, 1), max: Date.UTC(2026, 0, 1) }), {
        nil: null,
      }),
    })
    .map(({ from, length, consumerClass, contractDate }): OccupancyTerms => ({
      occupancyId,
      from: new Date(T0 + from),
      to: length === null ? null : new Date(T0 + from + length),
      consumerClass,
      contractDate: contractDate === null ? null : new Date(contractDate),
    }));

/** Any rows at all, valid or not by the rules: the evaluation must hold its properties regardless. */
const entry = fc
  .record({
    occupancyId: fc.constantFrom(...OCCUPANCIES),
    purpose: fc.constantFrom(...PURPOSES),
    recipient: fc.constantFrom(...RECIPIENTS),
    granularity: fc.constantFrom(...GRANULARITIES),
    basis: fc.constantFrom(...CONSENT_BASES),
    status: fc.constantFrom(...CONSENT_STATUSES),
    effectiveFrom: instant,
    length: fc.option(fc.integer({ min: 1, max: 60 * DAY }), { nil: null }),
    reachBack: fc.option(fc.integer({ min: 0, max: 30 * DAY }), { nil: null }),
  })
  .map(({ length, reachBack, ...row }) => ({
    ...row,
    effectiveTo: length === null ? null : new Date(row.effectiveFrom.getTime() + length),
    historicalFrom: reachBack === null ? null : new Date(row.effectiveFrom.getTime() - reachBack),
  }));

const question = fc.record({
  recipient: fc.constantFrom(...RECIPIENTS),
  purpose: fc.constantFrom(...PURPOSES),
  at: instant,
});

/**
 * A question and a ledger most of whose rows are about it (the same purpose and recipient, often
 * speaking for its time): rows about something else rarely decide anything.
 */
const scenario = fc
  .tuple(question, fc.array(fc.tuple(entry, fc.boolean(), fc.boolean()), { maxLength: 25 }))
  .map(([q, rows]) => ({
    ...q,
    entries: rows.map(([row, aboutIt, covering], i): LedgerEntry => {
      const about = aboutIt ? { ...row, purpose: q.purpose, recipient: q.recipient } : row;
      const from =
        covering && about.effectiveFrom > q.at ? new Date(q.at.getTime() - DAY) : about.effectiveFrom;
      return {
        ...about,
        effectiveFrom: from,
        historicalFrom: covering ? null : about.historicalFrom,
        version: i + 1,
      };
    }),
  }));

const RUNS = { numRuns: 400 };

describe('permittedGranularity: properties', () => {
  it("consent.no-carry-over-across-occupancy: another occupancy's entries never change the answer", () => {
    fc.assert(
      fc.property(scenario, occupancyTerms('occ-b'), ({ entries, recipient, purpose, at }, b) => {
        const own = entries.filter((e) => e.occupancyId === 'occ-b');
        expect(permittedGranularity(entries, b, recipient, purpose, at)).toBe(
          permittedGranularity(own, b, recipient, purpose, at),
        );
      }),
      RUNS,
    );
  });

  it('a withdrawal or an opt-out never raises the granularity, at any time', () => {
    fc.assert(
      fc.property(
        scenario,
        occupancyTerms('occ-a'),
        fc.record({
          status: fc.constantFrom('withdrawn' as const, 'opted-out' as const),
          granularity: fc.constantFrom(...GRANULARITIES),
          basis: fc.constantFrom(...CONSENT_BASES),
          effectiveFrom: instant,
          recipient: fc.constantFrom(...RECIPIENTS),
          purpose: fc.constantFrom(...PURPOSES),
        }),
        ({ entries, at }, a, change) => {
          const lowered: LedgerEntry[] = [
            ...entries,
            {
              ...change,
              occupancyId: 'occ-a',
              effectiveTo: null,
              historicalFrom: null,
              version: entries.length + 1,
            },
          ];
          for (const purpose of PURPOSES) {
            const before = permittedGranularity(entries, a, change.recipient, purpose, at);
            const after = permittedGranularity(lowered, a, change.recipient, purpose, at);
            expect(rank(after)).toBeLessThanOrEqual(rank(before));
          }
        },
      ),
      RUNS,
    );
  });

  it('the answer at any time depends only on the entries effective at that time', () => {
    fc.assert(
      fc.property(scenario, occupancyTerms('occ-a'), ({ entries, recipient, purpose, at }, a) => {
        const effective = entries.filter((e) => isEffectiveAt(e, at));
        expect(permittedGranularity(entries, a, recipient, purpose, at)).toBe(
          permittedGranularity(effective, a, recipient, purpose, at),
        );
      }),
      RUNS,
    );
  });

  it('nothing is permitted outside the occupancy', () => {
    fc.assert(
      fc.property(scenario, occupancyTerms('occ-a'), ({ entries, recipient, purpose, at }, a) => {
        const inside = a.from <= at && (a.to === null || at < a.to);
        fc.pre(!inside);
        expect(permittedGranularity(entries, a, recipient, purpose, at)).toBe('none');
      }),
      RUNS,
    );
  });

  it('the timeline gives the same answer as the point function at every instant', () => {
    fc.assert(
      fc.property(scenario, occupancyTerms('occ-a'), ({ entries, recipient, purpose, at }, a) => {
        const segments = permissionTimeline(entries, a, recipient, purpose);
        const segment = segments.find((s) => s.from <= at && (s.to === null || at < s.to));
        expect(segment?.granularity ?? 'none').toBe(permittedGranularity(entries, a, recipient, purpose, at));
        for (let i = 1; i < segments.length; i++) {
          expect(segments[i]!.from).toEqual(segments[i - 1]!.to);
          expect(segments[i]!.granularity).not.toBe(segments[i - 1]!.granularity);
        }
      }),
      RUNS,
    );
  });
});
