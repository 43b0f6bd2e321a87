import { describe, expect, it } from 'vitest';
import { backoffDelay, resolveRetryPolicy, sleep } from './backoff';

const policy = { initialMs: 100, maxMs: 1_000 };

describe('backoffDelay', () => {
  it('doubles from initialMs per attempt, at its ceiling when the jitter is highest', () => {
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, policy, () => 1))).toEqual([
      100, 200, 400, 800,
    ]);
  });

  it('never exceeds maxMs', () => {
    expect(backoffDelay(5, policy, () => 1)).toBe(1_000);
    expect(backoffDelay(60, policy, () => 1)).toBe(1_000);
  });

  it('keeps at least half the ceiling, so a retry never fires at once', () => {
    expect([1, 2, 3, 10].map((attempt) => backoffDelay(attempt, policy, () => 0))).toEqual([
      50, 100, 200, 500,
    ]);
  });

  it('spreads retries between half and the whole ceiling', () => {
    const delays = Array.from({ length: 200 }, () => backoffDelay(3, policy));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(200);
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
    expect(new Set(delays).size).toBeGreaterThan(10);
  });
});

describe('resolveRetryPolicy', () => {
  it('fills defaults and rejects nonsense', () => {
    expect(resolveRetryPolicy({ attempts: 2 })).toMatchObject({ attempts: 2, initialMs: 200, maxMs: 10_000 });
    expect(() => resolveRetryPolicy({ attempts: 0 })).toThrow(/attempts/);
    expect(() => resolveRetryPolicy({ initialMs: 500, maxMs: 100 })).toThrow(/initialMs <= maxMs/);
  });
});

describe('sleep', () => {
  it('rejects at once when aborted', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const sleeping = sleep(10_000, controller.signal);
    controller.abort(new Error('stopping'));
    await expect(sleeping).rejects.toThrow('stopping');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
