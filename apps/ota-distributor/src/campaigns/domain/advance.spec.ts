import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AdvanceInput, decideAdvance, overdueMembers, thresholdMet } from './advance';
import { CAMPAIGN_STATES, PHASE_STATES } from './state-machines';

const opened = new Date('2026-12-01T00:00:00Z');
const hours = (h: number) => new Date(opened.getTime() + h * 3_600_000);

const base = (over: Partial<AdvanceInput['phase']> = {}, rest: Partial<AdvanceInput> = {}): AdvanceInput => ({
  campaignState: 'RUNNING',
  phase: {
    state: 'ACTIVE',
    activatedAt: opened,
    successThresholdPercent: 95,
    minSoakMinutes: 60,
    targets: 100,
    succeeded: 95,
    overdue: [],
    ...over,
  },
  isLastPhase: false,
  explicit: false,
  now: hours(2),
  ...rest,
});

describe('phase advance (spec §6.5)', () => {
  it('opens the next phase once threshold and soak hold, completes after the last', () => {
    expect(decideAdvance(base())).toMatchObject({
      advance: true,
      next: 'activate-next-phase',
      by: 'thresholds',
    });
    expect(decideAdvance(base({}, { isLastPhase: true }))).toMatchObject({
      advance: true,
      next: 'complete-campaign',
    });
  });

  it('waits for the threshold, the soak time and a RUNNING campaign', () => {
    expect(decideAdvance(base({ succeeded: 94 }))).toMatchObject({
      advance: false,
      blockedBy: 'THRESHOLD_UNMET',
    });
    expect(decideAdvance(base({}, { now: hours(0.5) }))).toMatchObject({
      advance: false,
      blockedBy: 'SOAKING',
      thresholdMet: true,
    });
    expect(decideAdvance(base({}, { campaignState: 'PAUSED' }))).toMatchObject({
      blockedBy: 'CAMPAIGN_NOT_RUNNING',
    });
    expect(decideAdvance(base({}, { campaignState: 'HALTED', explicit: true }))).toMatchObject({
      advance: false,
    });
  });

  it('an explicit next-phase skips threshold and soak', () => {
    expect(decideAdvance(base({ succeeded: 0 }, { explicit: true, now: opened }))).toMatchObject({
      advance: true,
      by: 'operator',
    });
  });

  it('leaves overdue meters out of the denominator and lists them; a phase of only overdue meters holds', () => {
    const overdue = Array.from({ length: 10 }, (_, i) => `MTR-${i}`);
    expect(decideAdvance(base({ succeeded: 86, overdue }))).toMatchObject({
      advance: true,
      denominator: 90,
      overdue,
    });
    expect(decideAdvance(base({ succeeded: 0, overdue: Array(100).fill('x') }))).toMatchObject({
      advance: false,
      blockedBy: 'ALL_OVERDUE',
    });
    expect(decideAdvance(base({ targets: 0, succeeded: 0 }))).toMatchObject({ advance: true });
  });

  it('finds the meters silent for 3 poll intervals among the unfinished ones', () => {
    const members = [
      { deviceId: 'silent', finished: false, lastCheckInAt: hours(-5) },
      { deviceId: 'never', finished: false, lastCheckInAt: null },
      { deviceId: 'recent', finished: false, lastCheckInAt: hours(3.5) },
      { deviceId: 'done', finished: true, lastCheckInAt: hours(-5) },
    ];
    expect(overdueMembers(members, opened, 3600, hours(4))).toEqual(['silent', 'never']);
    expect(overdueMembers(members, opened, 3600, hours(2.9))).toEqual([]);
  });

  it('property: no input advances by itself a phase whose thresholds are unmet', () => {
    const input = fc
      .record({
        campaignState: fc.constantFrom(...CAMPAIGN_STATES),
        state: fc.constantFrom(...PHASE_STATES),
        targets: fc.integer({ min: 0, max: 1_000_000 }),
        succeededShare: fc.double({ min: 0, max: 1, noNaN: true }),
        overdueShare: fc.double({ min: 0, max: 1, noNaN: true }),
        threshold: fc.integer({ min: 0, max: 10_000 }).map((h) => h / 100),
        soak: fc.integer({ min: 0, max: 7 * 24 * 60 }),
        elapsedMinutes: fc.integer({ min: 0, max: 8 * 24 * 60 }),
        isLastPhase: fc.boolean(),
      })
      .map((r) => {
        const overdue = Math.floor(r.targets * r.overdueShare);
        const succeeded = Math.floor((r.targets - overdue) * r.succeededShare);
        return { ...r, overdue, succeeded };
      });
    fc.assert(
      fc.property(input, (r) => {
        const decision = decideAdvance({
          campaignState: r.campaignState,
          phase: {
            state: r.state,
            activatedAt: opened,
            successThresholdPercent: r.threshold,
            minSoakMinutes: r.soak,
            targets: r.targets,
            succeeded: r.succeeded,
            overdue: Array.from({ length: Math.min(r.overdue, 2000) }, (_, i) => `o${i}`).concat(
              Array(Math.max(0, r.overdue - 2000)).fill('o'),
            ),
          },
          isLastPhase: r.isLastPhase,
          explicit: false,
          now: new Date(opened.getTime() + r.elapsedMinutes * 60_000),
        });
        if (!decision.advance) return;
        const denominator = r.targets - r.overdue;
        expect(r.campaignState).toBe('RUNNING');
        expect(['ACTIVE', 'SOAKING']).toContain(r.state);
        expect(r.elapsedMinutes).toBeGreaterThanOrEqual(r.soak);
        if (r.targets > 0) {
          expect(denominator).toBeGreaterThan(0);
          expect(r.succeeded / denominator).toBeGreaterThanOrEqual(r.threshold / 100 - 1e-12);
        }
      }),
    );
  });

  it('compares the threshold exactly at the boundary', () => {
    expect(thresholdMet(95, 100, 95)).toBe(true);
    expect(thresholdMet(94, 100, 95)).toBe(false);
    expect(thresholdMet(1, 3, 33.34)).toBe(false);
    expect(thresholdMet(1, 3, 33.33)).toBe(true);
  });
});
