import { describe, expect, it } from 'vitest';
import {
  DEVICE_COMMANDS,
  DEVICE_STATES,
  type DeviceCommand,
  type DeviceState,
  allowedCommands,
  nextState,
} from './device-state-machine';

// Every allowed transition, written out once: anything not listed here must be refused.
const ALLOWED: [DeviceState, DeviceCommand, DeviceState][] = [
  ['MANUFACTURED', 'enroll', 'ENROLLED'],
  ['ENROLLED', 'enroll', 'ENROLLED'],
  ['ENROLLED', 'bootstrap', 'ACTIVE'],
  ['ACTIVE', 'bootstrap', 'ACTIVE'],
  ['ACTIVE', 'renew-certificate', 'ACTIVE'],
  ['ACTIVE', 'suspend', 'SUSPENDED'],
  ['SUSPENDED', 'resume', 'ACTIVE'],
  ['ACTIVE', 'decommission', 'DECOMMISSIONED'],
  ['SUSPENDED', 'decommission', 'DECOMMISSIONED'],
];

describe('device lifecycle state machine', () => {
  it.each(ALLOWED)('%s --%s--> %s', (from, command, to) => {
    expect(nextState(from, command)).toBe(to);
  });

  const refused = DEVICE_STATES.flatMap((state) =>
    DEVICE_COMMANDS.filter((command) => !ALLOWED.some(([s, c]) => s === state && c === command)).map(
      (command) => [state, command] as const,
    ),
  );

  it.each(refused)('refuses %s --%s-->', (state, command) => {
    expect(nextState(state, command)).toBeUndefined();
  });

  it('covers the design brief: a decommissioned meter is final, a suspended one cannot bootstrap', () => {
    expect(allowedCommands('DECOMMISSIONED')).toEqual([]);
    expect(allowedCommands('SUSPENDED')).toEqual(['resume', 'decommission']);
    expect(nextState('ENROLLED', 'suspend')).toBeUndefined();
    expect(nextState('ENROLLED', 'decommission')).toBeUndefined();
    expect(refused.length + ALLOWED.length).toBe(DEVICE_STATES.length * DEVICE_COMMANDS.length);
  });
});
