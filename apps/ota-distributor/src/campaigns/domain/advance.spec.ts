import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AdvanceInput,
  checkInRecordDue,
  checkInRecordSeconds,
  decideAdvance,
  overdueMembers,
  thresholdMet,
} from './advance';
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
    unfinished: 0,
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

  it('completes after the last phase only once its every meter still checking in has finished', () => {
    const last = { isLastPhase: true };
    // 95 % succeeded, 3 meters still installing or queued behind the rate: the campaign goes on.
    expect(decideAdvance(base({ unfinished: 3 }, last))).toMatchObject({
      advance: false,
      blockedBy: 'LAST_PHASE_UNFINISHED',
      thresholdMet: true,
    });
    // The same 3 silent for 3 poll intervals: overdue, listed, and they hold nothing.
    const overdue = ['MTR-1', 'MTR-2', 'MTR-3'];
    expect(decideAdvance(base({ unfinished: 3, overdue }, last))).toMatchObject({
      advance: true,
      next: 'complete-campaign',
      overdue,
    });
    // An earlier phase opens the next one at the threshold while its last meters go on.
    expect(decideAdvance(base({ unfinished: 3 }))).toMatchObject({
      advance: true,
      next: 'activate-next-phase',
    });
    // An operator's next-phase completes at once.
    expect(decideAdvance(base({ unfinished: 3 }, { ...last, explicit: true }))).toMatchObject({
      advance: true,
      by: 'operator',
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
        unfinishedShare: fc.double({ min: 0, max: 1, noNaN: true }),
      })
      .map((r) => {
        const overdue = Math.floor(r.targets * r.overdueShare);
        const succeeded = Math.floor((r.targets - overdue) * r.succeededShare);
        // Overdue meters are unfinished ones; others may be unfinished too.
        const unfinished = overdue + Math.floor((r.targets - overdue - succeeded) * r.unfinishedShare);
        return { ...r, overdue, succeeded, unfinished };
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
            unfinished: r.unfinished,
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
        // Completion leaves no meter that still checks in unfinished.
        if (r.isLastPhase) expect(r.unfinished).toBeLessThanOrEqual(r.overdue);
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

  it('records a check-in at most once per max(2 polls, 30 min), and a polling meter is never overdue by it', () => {
    expect(checkInRecordSeconds(300)).toBe(1_800);
    expect(checkInRecordSeconds(3_600)).toBe(7_200);
    expect(checkInRecordDue(null, hours(0), 300)).toBe(true);
    expect(checkInRecordDue(hours(0), hours(0.49), 300)).toBe(false);
    expect(checkInRecordDue(hours(0), hours(0.5), 300)).toBe(true);
  });

  it('property: a meter polling within ±10% of the interval, recorded coarsely, is never overdue; one silent longer is', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 30, max: 7_200 }),
        fc.array(fc.integer({ min: 900, max: 1_100 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 100 }),
        (poll, jitters, silenceExtraSeconds) => {
          let t = opened.getTime();
          let recorded: Date | null = null;
          let writes = 0;
          let checkIns = 0;
          const slack = checkInRecordSeconds(poll);
          for (const jitter of jitters) {
            t += ((poll * jitter) / 1000) * 1000;
            const now = new Date(t);
            checkIns++;
            if (checkInRecordDue(recorded, now, poll)) {
              recorded = now;
              writes++;
            }
            // Judged at any instant up to the next poll (the latest the jitter allows).
            const judged = new Date(t + poll * 1.1 * 1000);
            const member = { deviceId: 'm', finished: false, lastCheckInAt: recorded };
            expect(overdueMembers([member], opened, poll, judged, slack)).toEqual([]);
          }
          // Never more than one write per record interval (plus the first).
          const span = (t - opened.getTime()) / 1000;
          expect(writes).toBeLessThanOrEqual(1 + Math.floor(span / slack) + 1);
          expect(writes).toBeLessThanOrEqual(checkIns);
          // Silent for 3 polls + the record interval past its last check-in: overdue.
          const silentUntil = new Date(t + (3 * poll + slack + silenceExtraSeconds) * 1000);
          const member = { deviceId: 'm', finished: false, lastCheckInAt: recorded };
          expect(overdueMembers([member], opened, poll, silentUntil, slack)).toEqual(['m']);
        },
      ),
    );
  });
});
