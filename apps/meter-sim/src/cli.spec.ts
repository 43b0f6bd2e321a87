import { afterEach, describe, expect, it, vi } from 'vitest';
import { meterkeepVersion } from '@meterkeep/config';
import { runMeterSim } from './cli';
import { FleetUsageError } from './fleet/fleet.command';

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

  it("documents 'fleet update' and its options", async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(await runMeterSim(['--help'])).toBe(0);
    expect(String(log.mock.calls[0]?.[0])).toMatch(/firmware updates from\s+the OTA distributor \(update\)/);
    log.mockClear();
    expect(await runMeterSim(['fleet', '--help'])).toBe(0);
    const help = String(log.mock.calls[0]?.[0]);
    for (const flag of [
      'fleet update --state DIR (--until-idle | --max-rounds N)',
      '--ota-uri URL',
      '--ota-poll-seconds S',
      '--ota-tamper-meters N',
      '--ota-fail-rate',
      '--ota-boot-fail-rate',
      '--ota-slow-bps',
      '--ota-drop-at-bytes',
      '--ota-offline-days',
      '--ota-clock-skew',
      '--ota-hardware-revisions',
    ])
      expect(help).toContain(flag);
  });

  it.each([
    [['fleet', 'update', '--state', '/nowhere'], /--until-idle or --max-rounds/],
    [
      ['fleet', 'update', '--state', '/nowhere', '--until-idle', '--ota-fail-rate', '2'],
      /--ota-fail-rate needs a rate/,
    ],
    [['fleet', 'update', '--state', '/nowhere', '--max-rounds', '0'], /--max-rounds must be a positive/],
    [
      ['fleet', 'update', '--state', '/nowhere', '--until-idle', '--ota-tamper-meters=-1'],
      /--ota-tamper-meters/,
    ],
    [
      ['fleet', 'update', '--state', '/nowhere', '--until-idle', '--days', '3'],
      /--days do not go with 'fleet update'/,
    ],
    [
      ['fleet', 'update', '--state', '/nowhere', '--until-idle', '--ota-hardware-revisions', 'r1,bad rev'],
      /'bad rev' is not a hardware revision/,
    ],
    [
      ['fleet', 'bootstrap', '--state', '/nowhere', '--ota-hardware-revisions', 'r1'],
      /--ota-hardware-revisions only go with 'fleet update'/,
    ],
    [
      ['fleet', 'bootstrap', '--state', '/nowhere', '--ota-uri', 'https://o'],
      /--ota-uri only go with 'fleet update'/,
    ],
  ])('refuses %j as a usage error', async (argv, message) => {
    const error = await runMeterSim(argv).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FleetUsageError); // exit 2
    expect((error as Error).message).toMatch(message);
  });

  it('answers no command with the usage and exit 2', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(await runMeterSim([])).toBe(2);
    expect(String(log.mock.calls[0]?.[0])).toMatch(/^Usage: meter-sim/);
  });
});
