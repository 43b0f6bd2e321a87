import { describe, expect, it } from 'vitest';
import { checkInEtag, etagMatches, jitteredPollSeconds, pollBeforeWindow } from './check-in-rules';

describe('check-in rules', () => {
  describe('pollBeforeWindow', () => {
    const now = new Date('2026-12-04T10:00:00Z');
    const window = (startsInS: number, lengthS: number) => ({
      startsAt: new Date(now.getTime() + startsInS * 1000).toISOString(),
      endsAt: new Date(now.getTime() + (startsInS + lengthS) * 1000).toISOString(),
    });

    it('asks again as a window opens before the next poll, spread over its first tenth', () => {
      expect(pollBeforeWindow(3600, window(600, 1800), now, () => 0)).toBe(600);
      expect(pollBeforeWindow(3600, window(600, 1800), now, () => 0.999999)).toBe(780);
      // The spread is at most 5 min, however long the window.
      expect(pollBeforeWindow(86_400, window(600, 36_000), now, () => 0.999999)).toBe(900);
    });

    it('leaves the interval as it is with no window, a window open or past, or one after the next poll', () => {
      expect(pollBeforeWindow(3600, undefined, now)).toBe(3600);
      expect(pollBeforeWindow(3600, window(-60, 1800), now)).toBe(3600);
      expect(pollBeforeWindow(3600, window(-7200, 1800), now)).toBe(3600);
      expect(pollBeforeWindow(3600, window(3600, 1800), now)).toBe(3600);
      expect(pollBeforeWindow(3600, window(7200, 1800), now)).toBe(3600);
    });

    it('never waits past the interval nor less than a second', () => {
      expect(pollBeforeWindow(3600, window(3599, 36_000), now, () => 0.999999)).toBe(3600);
      expect(pollBeforeWindow(3600, window(0.2, 60), now, () => 0)).toBe(1);
    });
  });

  it('jitters the poll interval within ±10%', () => {
    expect(jitteredPollSeconds(300, () => 0)).toBe(270);
    expect(jitteredPollSeconds(300, () => 0.999999)).toBe(330);
    for (let i = 0; i < 1000; i += 1) {
      const s = jitteredPollSeconds(300);
      expect(s).toBeGreaterThanOrEqual(270);
      expect(s).toBeLessThanOrEqual(330);
    }
    expect(jitteredPollSeconds(1, () => 0)).toBe(1);
  });

  it('changes the ETag with the execution, its version, its state, the hold and the report', () => {
    const reported = { installed: 'none', seq: '0', slot: 'A' as const };
    const exec = { execution_id: 'e1', version: 1, state: 'QUEUED' as const };
    const base = checkInEtag('ACTIVE', exec, reported);
    expect(checkInEtag('ACTIVE', exec, reported)).toBe(base);
    const variants = [
      checkInEtag('ACTIVE', null, reported),
      checkInEtag('SUSPENDED', exec, reported),
      checkInEtag('ACTIVE', { ...exec, version: 2 }, reported),
      checkInEtag('ACTIVE', { ...exec, execution_id: 'e2' }, reported),
      checkInEtag('ACTIVE', { ...exec, state: 'SUCCEEDED' }, reported),
      checkInEtag('ACTIVE', exec, { ...reported, installed: 'a'.repeat(64) }),
      checkInEtag('ACTIVE', exec, { ...reported, slot: 'B' }),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
    expect(base).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
  });

  it('matches If-None-Match lists, weak tags and *', () => {
    expect(etagMatches('"abc"', '"abc"')).toBe(true);
    expect(etagMatches('W/"abc"', '"abc"')).toBe(true);
    expect(etagMatches('"x", "abc"', '"abc"')).toBe(true);
    expect(etagMatches('*', '"abc"')).toBe(true);
    expect(etagMatches('"abd"', '"abc"')).toBe(false);
    expect(etagMatches(undefined, '"abc"')).toBe(false);
    expect(etagMatches(`"${'a'.repeat(2000)}"`, '"abc"')).toBe(false);
  });
});
