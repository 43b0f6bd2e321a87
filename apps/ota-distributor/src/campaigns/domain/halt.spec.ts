import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ABORT_FAILURE_TYPES,
  type AbortRule,
  type StateCounts,
  evaluateHalt,
  ruleCrossed,
  withoutPendingRetries,
} from './halt';

const fivePercent: AbortRule = {
  scope: 'phase',
  failureTypes: [...ABORT_FAILURE_TYPES],
  thresholdPercent: 5,
  minExecuted: 20,
};

describe('automatic halt (spec §6.6)', () => {
  it('crosses at the percent once enough executions have an outcome', () => {
    expect(ruleCrossed(fivePercent, { SUCCEEDED: 18, FAILED: 1 }).crossed).toBe(false); // 19 executed
    expect(ruleCrossed(fivePercent, { SUCCEEDED: 19, FAILED: 1 })).toEqual({
      crossed: true,
      failed: 1,
      executed: 20,
    });
    expect(ruleCrossed(fivePercent, { SUCCEEDED: 20, FAILED: 1 }).crossed).toBe(false); // 4.76 %
    // In-flight and cancelled executions are no outcome.
    expect(
      ruleCrossed(fivePercent, { SUCCEEDED: 10, FAILED: 1, INSTALLING: 50, CANCELLED: 50 }).executed,
    ).toBe(11);
  });

  it('crosses on an absolute count, and counts only the rule’s failure types', () => {
    const count: AbortRule = {
      scope: 'campaign',
      failureTypes: ['ROLLED_BACK'],
      thresholdCount: 3,
      minExecuted: 0,
    };
    expect(ruleCrossed(count, { SUCCEEDED: 1000, ROLLED_BACK: 3 }).crossed).toBe(true);
    expect(ruleCrossed(count, { SUCCEEDED: 10, FAILED: 50, ROLLED_BACK: 2 }).crossed).toBe(false);
  });

  it('halts once per rule and phase, on the phase or the campaign counters as the rule says', () => {
    const rules: AbortRule[] = [
      fivePercent,
      { ...fivePercent, scope: 'campaign', thresholdPercent: 2, minExecuted: 100 },
    ];
    const phaseCounts = { SUCCEEDED: 19, FAILED: 1 };
    const first = evaluateHalt({
      rules,
      phase: 2,
      phaseCounts,
      campaignCounts: { SUCCEEDED: 500 },
      recorded: new Set(),
    });
    expect(first).toEqual({ rule: 0, phase: 2, key: 'abort-0:phase-2', failed: 1, executed: 20 });
    expect(
      evaluateHalt({
        rules,
        phase: 2,
        phaseCounts,
        campaignCounts: { SUCCEEDED: 500 },
        recorded: new Set([first!.key]),
      }),
    ).toBeNull();
    expect(
      evaluateHalt({
        rules,
        phase: 2,
        phaseCounts,
        campaignCounts: { SUCCEEDED: 480, TIMED_OUT: 20 },
        recorded: new Set([first!.key]),
      }),
    ).toMatchObject({ rule: 1, key: 'abort-1:phase-2' });
  });

  const arbRule = fc.record(
    {
      scope: fc.constantFrom('phase' as const, 'campaign' as const),
      failureTypes: fc.subarray([...ABORT_FAILURE_TYPES], { minLength: 1 }),
      thresholdPercent: fc.integer({ min: 1, max: 10_000 }).map((h) => h / 100),
      thresholdCount: fc.integer({ min: 1, max: 500 }),
      minExecuted: fc.integer({ min: 0, max: 200 }),
    },
    { requiredKeys: ['scope', 'failureTypes', 'minExecuted'] },
  );
  const arbOutcome = fc.constantFrom(
    'SUCCEEDED',
    'ALREADY_INSTALLED',
    'FAILED',
    'REJECTED',
    'ROLLED_BACK',
    'TIMED_OUT',
    'CANCELLED',
    'INSTALLING',
  );

  it('property: never halts under minExecuted nor under both thresholds', () => {
    fc.assert(
      fc.property(arbRule, fc.dictionary(arbOutcome, fc.nat(1000)), (rule, counts: StateCounts) => {
        const { crossed, failed, executed } = ruleCrossed(rule, counts);
        if (!crossed) return;
        expect(executed).toBeGreaterThanOrEqual(rule.minExecuted);
        const byPercent =
          rule.thresholdPercent !== undefined &&
          executed > 0 &&
          (failed / executed) * 100 >= rule.thresholdPercent - 1e-9;
        const byCount = rule.thresholdCount !== undefined && failed >= rule.thresholdCount;
        expect(byPercent || byCount).toBe(true);
      }),
    );
  });

  it('property: statuses arriving one by one, in any order, give exactly one halt per crossing rule and phase', () => {
    fc.assert(
      fc.property(
        fc.array(arbRule, { minLength: 1, maxLength: 3 }),
        fc.array(fc.record({ phase: fc.integer({ min: 1, max: 3 }), outcome: arbOutcome }), {
          maxLength: 300,
        }),
        (rules, statuses) => {
          const phaseCounts = new Map<number, Record<string, number>>();
          const campaign: Record<string, number> = {};
          const recorded = new Set<string>();
          const halts: string[] = [];
          for (const status of statuses) {
            const counts = phaseCounts.get(status.phase) ?? {};
            counts[status.outcome] = (counts[status.outcome] ?? 0) + 1;
            phaseCounts.set(status.phase, counts);
            campaign[status.outcome] = (campaign[status.outcome] ?? 0) + 1;
            // Evaluated after every committed status, and again as a replay would after a crash.
            for (let replay = 0; replay < 2; replay++)
              for (
                let crossing = evaluateHalt({
                  rules,
                  phase: status.phase,
                  phaseCounts: counts,
                  campaignCounts: campaign,
                  recorded,
                });
                crossing;
                crossing = evaluateHalt({
                  rules,
                  phase: status.phase,
                  phaseCounts: counts,
                  campaignCounts: campaign,
                  recorded,
                })
              ) {
                halts.push(crossing.key);
                recorded.add(crossing.key);
              }
          }
          expect(new Set(halts).size).toBe(halts.length);
          // And every rule that is crossed at the end has halted for that phase.
          for (const [phase, counts] of phaseCounts)
            rules.forEach((rule, i) => {
              if (
                ruleCrossed(rule, rule.scope === 'phase' ? counts : campaign).crossed &&
                statuses.at(-1)!.phase === phase
              )
                expect(halts).toContain(`abort-${i}:phase-${phase}`);
            });
        },
      ),
    );
  });

  it('a failure still to be retried is neither failed nor executed until its last attempt fails', () => {
    const rule: AbortRule = { scope: 'phase', failureTypes: ['FAILED'], thresholdCount: 1, minExecuted: 1 };
    const counts: StateCounts = { FAILED: 1, SUCCEEDED: 3 };
    expect(ruleCrossed(rule, counts).crossed).toBe(true);
    const pending = withoutPendingRetries(counts, [{ phase: 1, state: 'FAILED' }]);
    expect(pending).toEqual({ FAILED: 0, SUCCEEDED: 3 });
    expect(ruleCrossed(rule, pending)).toEqual({ crossed: false, failed: 0, executed: 3 });
  });
});
