import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OTA_EXECUTION_STATES } from '@meterkeep/contracts';
import {
  MAX_RETRIES,
  type RetryCandidate,
  type RetryPolicy,
  dueRetries,
  isTimedOut,
  retryDecision,
  timeoutDeadline,
} from './timeouts-retries';

const t0 = new Date('2026-12-01T00:00:00Z');
const minutes = (m: number) => new Date(t0.getTime() + m * 60_000);
const policy = { downloadMinutes: 360, installMinutes: 1440 };

describe('timeouts (spec §6.6)', () => {
  it('times out a download and an install from the stage entry', () => {
    expect(timeoutDeadline('DOWNLOADING', t0, policy)).toEqual(minutes(360));
    expect(isTimedOut('DOWNLOADING', t0, policy, minutes(359))).toBe(false);
    expect(isTimedOut('DOWNLOADING', t0, policy, minutes(360))).toBe(true);
    for (const state of ['INSTALLING', 'REBOOTING', 'CONFIRMING'] as const)
      expect(isTimedOut(state, t0, policy, minutes(1440))).toBe(true);
  });

  it('has no timeout outside the download and install stages', () => {
    for (const state of OTA_EXECUTION_STATES.filter(
      (s) => !['DOWNLOADING', 'INSTALLING', 'REBOOTING', 'CONFIRMING'].includes(s),
    ))
      expect(isTimedOut(state, t0, policy, minutes(1e7)), state).toBe(false);
  });
});

describe('retries (spec §6.6)', () => {
  const defaults: RetryPolicy = { max: 2, backoffMinutes: 60, codes: ['DOWNLOAD_*'] };

  it('retries DOWNLOAD_* codes twice with doubling backoff by default, then stops', () => {
    const failed = (attempt: number, code = 'DOWNLOAD_HTTP_503') => ({
      state: 'FAILED' as const,
      failureCode: code,
      attempt,
      at: t0,
    });
    expect(retryDecision(defaults, failed(1))).toEqual({ retry: true, attempt: 2, notBefore: minutes(60) });
    expect(retryDecision(defaults, failed(2))).toEqual({ retry: true, attempt: 3, notBefore: minutes(120) });
    expect(retryDecision(defaults, failed(3))).toEqual({ retry: false, reason: 'ATTEMPTS_EXHAUSTED' });
    expect(retryDecision(defaults, failed(1, 'DIGEST_MISMATCH'))).toEqual({
      retry: false,
      reason: 'CODE_NOT_RETRIED',
    });
    expect(retryDecision(defaults, { ...failed(1), state: 'REJECTED' })).toEqual({
      retry: false,
      reason: 'NOT_RETRYABLE_STATE',
    });
  });

  it('retries a timeout only when the policy names TIMED_OUT', () => {
    const timedOut = { state: 'TIMED_OUT' as const, failureCode: null, attempt: 1, at: t0 };
    expect(retryDecision(defaults, timedOut)).toMatchObject({ retry: false });
    expect(retryDecision({ ...defaults, codes: ['TIMED_OUT'] }, timedOut)).toMatchObject({
      retry: true,
      attempt: 2,
    });
  });

  it('property: never more than min(max, 10) retries, never sooner than the backoff, delays never shrink', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.array(
          fc.constantFrom('DOWNLOAD_SLOW', 'DOWNLOAD_HTTP_500', 'DIGEST_MISMATCH', 'BOOT_VERIFY_FAILED'),
          { minLength: 1, maxLength: 3 },
        ),
        fc.array(
          fc.tuple(
            fc.constantFrom('FAILED' as const, 'TIMED_OUT' as const),
            fc.constantFrom('DOWNLOAD_SLOW', 'DIGEST_MISMATCH'),
          ),
          { maxLength: 40 },
        ),
        (max, backoffMinutes, codes, failures) => {
          const p: RetryPolicy = { max, backoffMinutes, codes: [...codes, 'TIMED_OUT'] };
          let attempt = 1;
          let at = t0.getTime();
          let lastDelay = 0;
          for (const [state, code] of failures) {
            const decision = retryDecision(p, { state, failureCode: code, attempt, at: new Date(at) });
            if (!decision.retry) {
              if (decision.reason === 'CODE_NOT_RETRIED')
                expect(state === 'FAILED' && !codes.includes(code)).toBe(true);
              if (decision.reason === 'ATTEMPTS_EXHAUSTED')
                expect(attempt - 1).toBe(Math.min(max, MAX_RETRIES));
              break;
            }
            const delay = decision.notBefore.getTime() - at;
            expect(delay).toBeGreaterThanOrEqual(backoffMinutes * 60_000);
            expect(delay).toBeGreaterThanOrEqual(lastDelay);
            expect(decision.attempt).toBe(attempt + 1);
            lastDelay = delay;
            attempt = decision.attempt;
            at = decision.notBefore.getTime() + 1;
          }
          expect(attempt - 1).toBeLessThanOrEqual(Math.min(max, MAX_RETRIES));
        },
      ),
    );
  });

  it('dueRetries re-queues a retried code once its backoff ran, never another code or a spent attempt', () => {
    const p: RetryPolicy = { max: 2, backoffMinutes: 60, codes: ['DOWNLOAD_*'] };
    const failed = (id: string, failureCode: string | null, attempt: number, m: number): RetryCandidate => ({
      executionId: id,
      state: 'FAILED',
      failureCode,
      attempt,
      failedAt: minutes(m),
    });
    const candidates = [
      failed('early', 'DOWNLOAD_HTTP_503', 1, 0),
      failed('recent', 'DOWNLOAD_SLOW', 1, 30),
      failed('digest', 'DIGEST_MISMATCH', 1, 0),
      failed('second', 'DOWNLOAD_SLOW', 2, -60), // its second retry waits 120 min
      failed('spent', 'DOWNLOAD_SLOW', 3, -600),
      { ...failed('timeout', null, 1, 0), state: 'TIMED_OUT' as const },
    ];
    expect(dueRetries(p, candidates, minutes(60))).toEqual(['early', 'second']);
    expect(dueRetries(p, candidates, minutes(59))).toEqual([]);
    expect(dueRetries({ ...p, codes: ['TIMED_OUT'] }, candidates, minutes(60))).toEqual(['timeout']);
  });

  it('property: a due retry is exactly a retryable failure whose backoff has run, at most min(max, 10) times', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 1, max: 1440 }),
        fc.array(
          fc.record({
            state: fc.constantFrom(...OTA_EXECUTION_STATES),
            failureCode: fc.constantFrom(null, 'DOWNLOAD_SLOW', 'DOWNLOAD_HTTP_500', 'DIGEST_MISMATCH'),
            attempt: fc.integer({ min: 1, max: 12 }),
            failedMinute: fc.integer({ min: -5000, max: 0 }),
          }),
          { maxLength: 30 },
        ),
        (max, backoffMinutes, rows) => {
          const p: RetryPolicy = { max, backoffMinutes, codes: ['DOWNLOAD_*', 'TIMED_OUT'] };
          const candidates = rows.map((r, i) => ({
            executionId: `e${i}`,
            state: r.state,
            failureCode: r.failureCode,
            attempt: r.attempt,
            failedAt: minutes(r.failedMinute),
          }));
          const due = new Set(dueRetries(p, candidates, t0));
          for (const c of candidates) {
            const retryable =
              (c.state === 'FAILED' && c.failureCode?.startsWith('DOWNLOAD_') === true) ||
              c.state === 'TIMED_OUT';
            const backoffRan =
              t0.getTime() - c.failedAt.getTime() >= backoffMinutes * 60_000 * 2 ** (c.attempt - 1) ||
              t0.getTime() - c.failedAt.getTime() >= Math.max(backoffMinutes, 1440) * 60_000;
            if (due.has(c.executionId)) {
              expect(retryable).toBe(true);
              expect(c.attempt).toBeLessThanOrEqual(Math.min(max, MAX_RETRIES));
              expect(t0.getTime() - c.failedAt.getTime()).toBeGreaterThanOrEqual(backoffMinutes * 60_000);
              expect(backoffRan).toBe(true);
            } else if (retryable && c.attempt <= Math.min(max, MAX_RETRIES)) {
              expect(backoffRan).toBe(false);
            }
          }
        },
      ),
    );
  });
});
