import { describe, expect, it } from 'vitest';
import { parseBackfillArgs, runReadingsBackfill } from './readings-backfill-cli';

describe('privacy readings-index backfill: its command line', () => {
  it('takes backfill, a batch size, --rescan and the release group', () => {
    expect(parseBackfillArgs(['backfill'])).toEqual({
      batch: 2000,
      rescan: false,
      releaseGroup: 'privacy-release',
    });
    expect(parseBackfillArgs(['backfill', '--batch', '50', '--rescan', '--release-group', 'g'])).toEqual({
      batch: 50,
      rescan: true,
      releaseGroup: 'g',
    });
    expect(parseBackfillArgs(['--help'])).toEqual({ exit: 0 });
  });

  it('refuses another verb, a batch out of bounds, an unknown option (exit 2)', () => {
    expect(parseBackfillArgs([])).toMatchObject({ exit: 2, error: expect.stringContaining('unknown') });
    expect(parseBackfillArgs(['rebuild'])).toMatchObject({ exit: 2 });
    for (const batch of ['0', '-1', '1.5', 'x', '100001'])
      expect(parseBackfillArgs(['backfill', '--batch', batch])).toMatchObject({
        exit: 2,
        error: expect.stringContaining('--batch'),
      });
    expect(parseBackfillArgs(['backfill', '--all'])).toMatchObject({ exit: 2 });
  });

  it('says what the environment lacks (exit 1), before touching anything', async () => {
    const err: string[] = [];
    const code = await runReadingsBackfill(['backfill'], {
      env: {},
      out: () => undefined,
      err: (line) => err.push(line),
    });
    expect(code).toBe(1);
    expect(err.join('\n')).toContain('DATABASE_URL');
  });
});
