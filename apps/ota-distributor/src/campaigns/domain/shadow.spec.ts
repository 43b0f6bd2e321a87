import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OTA_EXECUTION_STATES, type OtaExecutionState } from '@meterkeep/contracts';
import { type AdvanceInput, decideAdvance } from './advance';
import type { StateCounts } from './halt';
import { fitTwins, shadowCoverage, shadowTimedOut, shadowVerdict } from './shadow';
import { CAMPAIGN_STATES, PHASE_STATES } from './state-machines';

const opened = new Date('2026-12-01T00:00:00Z');

/** Twins' counters: n twins spread over execution states. */
const twinCounts = fc
  .array(fc.constantFrom(...OTA_EXECUTION_STATES), { minLength: 1, maxLength: 32 })
  .map((states) => {
    const counts: StateCounts = {};
    for (const s of states) counts[s] = (counts[s] ?? 0) + 1;
    return { twins: states.length, counts };
  });

const shadowInput = (
  twins: number,
  counts: StateCounts,
  over: Partial<AdvanceInput> = {},
  phase: Partial<AdvanceInput['phase']> = {},
): AdvanceInput => ({
  campaignState: 'RUNNING',
  phase: {
    state: 'ACTIVE',
    activatedAt: opened,
    successThresholdPercent: 0,
    minSoakMinutes: 0,
    targets: twins,
    succeeded: twins,
    unfinished: 0,
    overdue: [],
    shadowCounts: counts,
    ...phase,
  },
  isLastPhase: false,
  explicit: false,
  now: new Date(opened.getTime() + 3_600_000),
  ...over,
});

describe('shadow run gate (spec §6 item 3)', () => {
  it('passes only when every twin SUCCEEDED; any failure fails it; the rest is pending', () => {
    expect(shadowVerdict(2, { SUCCEEDED: 2 })).toBe('PASSED');
    expect(shadowVerdict(2, { SUCCEEDED: 1, INSTALLING: 1 })).toBe('PENDING');
    expect(shadowVerdict(2, { SUCCEEDED: 1, ROLLED_BACK: 1 })).toBe('FAILED');
    expect(shadowVerdict(2, { SUCCEEDED: 1, TIMED_OUT: 1 })).toBe('FAILED');
    // A twin already on the image proves nothing about installing it.
    expect(shadowVerdict(2, { SUCCEEDED: 1, ALREADY_INSTALLED: 1 })).toBe('FAILED');
    expect(shadowVerdict(2, { SUCCEEDED: 1, CANCELLED: 1 })).toBe('PENDING');
    expect(shadowVerdict(0, {})).toBe('PENDING');
  });

  it('no input opens phase 1 while a twin has not succeeded: not the threshold, soak, overdue meters nor an operator', () => {
    fc.assert(
      fc.property(
        twinCounts,
        fc.constantFrom(...CAMPAIGN_STATES),
        fc.constantFrom(...PHASE_STATES),
        fc.boolean(),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 32 }),
        ({ twins, counts }, campaignState, state, explicit, successThresholdPercent, overdue) => {
          const decision = decideAdvance(
            shadowInput(
              twins,
              counts,
              { campaignState, explicit },
              {
                state,
                successThresholdPercent,
                succeeded: twins,
                overdue: Array.from({ length: overdue }, (_, i) => `m${i}`),
              },
            ),
          );
          const allSucceeded = (counts.SUCCEEDED ?? 0) === twins;
          if (decision.advance) {
            expect(allSucceeded).toBe(true);
            expect(campaignState).toBe('RUNNING');
          }
          if (!allSucceeded) expect(decision.advance).toBe(false);
        },
      ),
    );
  });

  it('opens phase 1 once every twin succeeded, with no soak', () => {
    expect(decideAdvance(shadowInput(2, { SUCCEEDED: 2 }, { now: opened }))).toMatchObject({
      advance: true,
      next: 'activate-next-phase',
    });
    expect(decideAdvance(shadowInput(2, { SUCCEEDED: 1, VERIFIED: 1 }, { explicit: true }))).toMatchObject({
      advance: false,
      blockedBy: 'SHADOW_PENDING',
    });
  });

  it('any failed twin fails the run whatever the others did', () => {
    const failures: OtaExecutionState[] = ['FAILED', 'REJECTED', 'ROLLED_BACK', 'TIMED_OUT'];
    fc.assert(
      fc.property(twinCounts, fc.constantFrom(...failures), ({ twins, counts }, failure) => {
        expect(shadowVerdict(twins + 1, { ...counts, [failure]: (counts[failure] ?? 0) + 1 })).toBe('FAILED');
      }),
    );
  });

  it('coverage: every hardware revision among the targets needs a twin reporting it', () => {
    expect(shadowCoverage(['rev-a', 'rev-b', 'rev-a'], ['rev-b'])).toEqual({
      covered: ['rev-b'],
      missing: ['rev-a'],
    });
    expect(shadowCoverage(['rev-a', null], ['rev-a', 'rev-c'])).toEqual({
      covered: ['rev-a'],
      missing: [null],
    });
    expect(shadowCoverage([], ['rev-a'])).toEqual({ covered: [], missing: [] });
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.constantFrom('a', 'b', 'c', 'd'))),
        fc.array(fc.option(fc.constantFrom('a', 'b', 'c', 'd'))),
        (targets, twins) => {
          const { covered, missing } = shadowCoverage(targets, twins);
          expect(new Set([...covered, ...missing])).toEqual(new Set(targets));
          for (const r of missing) expect(twins).not.toContain(r);
          for (const r of covered) expect(twins).toContain(r);
        },
      ),
    );
  });

  it('times out the run past its timeout from activation', () => {
    expect(shadowTimedOut(opened, 60, new Date(opened.getTime() + 60_000))).toBe(false);
    expect(shadowTimedOut(opened, 60, new Date(opened.getTime() + 60_001))).toBe(true);
  });
});

describe('fit twins', () => {
  it('only ACTIVE meters of the class; another class, a held meter or none at all are unknown alike', () => {
    const records = [
      { device_id: 'a', class_id: 'em300', state: 'ACTIVE' },
      { device_id: 'b', class_id: 'em400', state: 'ACTIVE' },
      { device_id: 'c', class_id: 'em300', state: 'SUSPENDED' },
    ];
    const { fit, unknown } = fitTwins('em300', ['a', 'b', 'c', 'd'], records);
    expect(fit.map((t) => t.device_id)).toEqual(['a']);
    expect(unknown).toEqual(['b', 'c', 'd']);
  });
});
