/**
 * The lifecycle of one meter (design brief):
 *
 *   MANUFACTURED --enroll--> ENROLLED --bootstrap--> ACTIVE
 *   ACTIVE --suspend--> SUSPENDED --resume--> ACTIVE
 *   ACTIVE | SUSPENDED --decommission--> DECOMMISSIONED
 *
 * plus the self-loops the platform needs: an ENROLLED meter may be enrolled again (its list row
 * changed before it ever bootstrapped), an ACTIVE meter may bootstrap again (its operational
 * credential was lost) and renews its certificate while ACTIVE. Pure: no I/O, no clock.
 */
export const DEVICE_STATES = ['MANUFACTURED', 'ENROLLED', 'ACTIVE', 'SUSPENDED', 'DECOMMISSIONED'] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

export const DEVICE_COMMANDS = [
  'enroll',
  'bootstrap',
  'renew-certificate',
  'suspend',
  'resume',
  'decommission',
] as const;
export type DeviceCommand = (typeof DEVICE_COMMANDS)[number];

const TRANSITIONS: Readonly<Record<DeviceCommand, Partial<Record<DeviceState, DeviceState>>>> = {
  enroll: { MANUFACTURED: 'ENROLLED', ENROLLED: 'ENROLLED' },
  bootstrap: { ENROLLED: 'ACTIVE', ACTIVE: 'ACTIVE' },
  'renew-certificate': { ACTIVE: 'ACTIVE' },
  suspend: { ACTIVE: 'SUSPENDED' },
  resume: { SUSPENDED: 'ACTIVE' },
  decommission: { ACTIVE: 'DECOMMISSIONED', SUSPENDED: 'DECOMMISSIONED' },
};

/** The state `command` leads to from `state`, or undefined when the lifecycle forbids it. */
export function nextState(state: DeviceState, command: DeviceCommand): DeviceState | undefined {
  return TRANSITIONS[command][state];
}

/** The commands allowed from `state`, for error messages and docs. */
export function allowedCommands(state: DeviceState): DeviceCommand[] {
  return DEVICE_COMMANDS.filter((command) => nextState(state, command) !== undefined);
}
