import { describe, expect, it } from 'vitest';
import { checkInEtag, etagMatches, jitteredPollSeconds } from './check-in-rules';

describe('check-in rules', () => {
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
