import { afterEach, describe, expect, it, vi } from 'vitest';
import { meterkeepVersion } from '@meterkeep/config';
import { runMeterSim } from './cli';

describe('meter-sim command line', () => {
  afterEach(() => vi.restoreAllMocks());

  it('answers --version with the release, exit 0', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    for (const flag of ['--version', '-V']) {
      log.mockClear();
      expect(await runMeterSim([flag])).toBe(0);
      expect(log.mock.calls).toEqual([[`meter-sim ${meterkeepVersion()}`]]);
    }
  });

  it('answers no command with the usage and exit 2', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(await runMeterSim([])).toBe(2);
    expect(String(log.mock.calls[0]?.[0])).toMatch(/^Usage: meter-sim/);
  });
});
