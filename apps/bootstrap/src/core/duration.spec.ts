import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration';

describe('parseDuration', () => {
  it('reads whole numbers with a unit of seconds, minutes, hours or days', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration(' 12h ')).toBe(43_200_000);
  });

  it('refuses anything else', () => {
    for (const text of ['', '7', 'd', '0d', '-1d', '1.5h', '7 d', '7D', '1w', '07d', '12345678d'])
      expect(parseDuration(text)).toBeUndefined();
  });

  it('formats back to the shortest exact unit', () => {
    expect(formatDuration(604_800_000)).toBe('7d');
    expect(formatDuration(5_400_000)).toBe('90m');
    expect(formatDuration(90_000)).toBe('90s');
  });
});
