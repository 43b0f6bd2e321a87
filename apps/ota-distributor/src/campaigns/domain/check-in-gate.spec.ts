import { describe, expect, it } from 'vitest';
import { checkInGate } from './check-in-gate';

describe('check-in gate of a campaign execution (spec §6.6)', () => {
  const running = { state: 'RUNNING' as const, cancelMode: null };

  it('notifies only an admitted execution of a running campaign', () => {
    expect(checkInGate(running, { state: 'QUEUED', admitted: true })).toBe('notify');
    expect(checkInGate(running, { state: 'QUEUED', admitted: false })).toBe('hold');
    for (const state of ['PAUSED', 'HALTED', 'SCHEDULED', 'COMPLETED'] as const)
      expect(checkInGate({ state, cancelMode: null }, { state: 'QUEUED', admitted: true })).toBe('hold');
  });

  it('after a halt cancels what is notified up to verified, lets installs finish, keeps the queue', () => {
    const halted = { state: 'HALTED' as const, cancelMode: null };
    for (const state of ['NOTIFIED', 'DOWNLOADING', 'DOWNLOADED', 'VERIFIED'] as const)
      expect(checkInGate(halted, { state, admitted: true })).toBe('cancel');
    for (const state of ['INSTALLING', 'REBOOTING', 'CONFIRMING'] as const)
      expect(checkInGate(halted, { state, admitted: true })).toBe('serve');
    expect(checkInGate(halted, { state: 'QUEUED', admitted: true })).toBe('hold');
  });

  it('graceful cancel takes queued and notified; force also downloads under way; never installs', () => {
    const graceful = { state: 'CANCELLING' as const, cancelMode: 'graceful' as const };
    const force = { state: 'CANCELLING' as const, cancelMode: 'force' as const };
    expect(checkInGate(graceful, { state: 'NOTIFIED', admitted: true })).toBe('cancel');
    expect(checkInGate(graceful, { state: 'QUEUED', admitted: false })).toBe('cancel');
    expect(checkInGate(graceful, { state: 'DOWNLOADING', admitted: true })).toBe('serve');
    expect(checkInGate(force, { state: 'DOWNLOADING', admitted: true })).toBe('cancel');
    expect(checkInGate(force, { state: 'VERIFIED', admitted: true })).toBe('cancel');
    expect(checkInGate(force, { state: 'INSTALLING', admitted: true })).toBe('serve');
  });
});
