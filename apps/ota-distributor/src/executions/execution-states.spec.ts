import { describe, expect, it } from 'vitest';
import { OTA_EXECUTION_STATES } from '@meterkeep/contracts';
import { ACTIVE_STATES, checkReportedTransition, isActive, isTerminal } from './execution-states';

describe('execution states (spec §6.4)', () => {
  it('splits every contract state into active and terminal', () => {
    const terminal = OTA_EXECUTION_STATES.filter(isTerminal);
    expect(terminal.sort()).toEqual(
      [
        'SUCCEEDED',
        'FAILED',
        'REJECTED',
        'ROLLED_BACK',
        'TIMED_OUT',
        'CANCELLED',
        'REMOVED',
        'ALREADY_INSTALLED',
      ].sort(),
    );
    expect(OTA_EXECUTION_STATES.filter(isActive)).toEqual([...ACTIVE_STATES]);
  });

  it('moves forward, skipping states, and never back within an attempt', () => {
    expect(checkReportedTransition('NOTIFIED', 1, 'DOWNLOADING', 1).ok).toBe(true);
    expect(checkReportedTransition('DOWNLOADING', 1, 'DOWNLOADING', 1).ok).toBe(true);
    expect(checkReportedTransition('NOTIFIED', 1, 'INSTALLING', 1).ok).toBe(true);
    expect(checkReportedTransition('VERIFIED', 1, 'DOWNLOADING', 1)).toMatchObject({ ok: false });
    expect(checkReportedTransition('CONFIRMING', 1, 'NOTIFIED', 1)).toMatchObject({ ok: false });
  });

  it('lets a new attempt restart, and refuses an attempt that is over', () => {
    expect(checkReportedTransition('VERIFIED', 1, 'DOWNLOADING', 2).ok).toBe(true);
    expect(checkReportedTransition('DOWNLOADING', 2, 'DOWNLOADING', 1)).toMatchObject({ ok: false });
  });

  it('keeps SUCCEEDED, TIMED_OUT, CANCELLED, REMOVED and QUEUED to the distributor', () => {
    for (const state of ['SUCCEEDED', 'TIMED_OUT', 'CANCELLED', 'REMOVED', 'QUEUED'] as const) {
      expect(checkReportedTransition('CONFIRMING', 1, state, 1)).toMatchObject({ ok: false });
    }
  });

  it('takes ROLLED_BACK only once an install began, ALREADY_INSTALLED only before', () => {
    expect(checkReportedTransition('DOWNLOADING', 1, 'ROLLED_BACK', 1)).toMatchObject({ ok: false });
    expect(checkReportedTransition('CONFIRMING', 1, 'ROLLED_BACK', 1).ok).toBe(true);
    expect(checkReportedTransition('NOTIFIED', 1, 'ALREADY_INSTALLED', 1).ok).toBe(true);
    expect(checkReportedTransition('REBOOTING', 1, 'ALREADY_INSTALLED', 1)).toMatchObject({ ok: false });
    expect(checkReportedTransition('QUEUED', 1, 'FAILED', 1).ok).toBe(true);
    expect(checkReportedTransition('CONFIRMING', 1, 'REJECTED', 1).ok).toBe(true);
  });
});
