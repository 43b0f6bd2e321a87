import type { OtaExecutionState } from '@meterkeep/contracts';

/**
 * The execution state machine of spec §6.4, as rules the status use case and the tests share. An
 * execution moves forward through the active states; a meter may skip states (lost reports) but never
 * go back within one attempt; a new attempt may restart anywhere. The distributor alone decides
 * SUCCEEDED (on a verified receipt), TIMED_OUT, CANCELLED and REMOVED.
 */

/** Unfinished states, in the order an update goes through them. */
export const ACTIVE_STATES = [
  'QUEUED',
  'NOTIFIED',
  'DOWNLOADING',
  'DOWNLOADED',
  'VERIFIED',
  'INSTALLING',
  'REBOOTING',
  'CONFIRMING',
] as const satisfies readonly OtaExecutionState[];
export type ActiveExecutionState = (typeof ACTIVE_STATES)[number];

const RANK: ReadonlyMap<OtaExecutionState, number> = new Map(ACTIVE_STATES.map((state, i) => [state, i]));

export function isActive(state: OtaExecutionState): state is ActiveExecutionState {
  return RANK.has(state);
}

export const isTerminal = (state: OtaExecutionState): boolean => !isActive(state);

/** Active states a meter may report ROLLED_BACK from: an install had begun. */
const INSTALL_BEGUN: ReadonlySet<OtaExecutionState> = new Set(['INSTALLING', 'REBOOTING', 'CONFIRMING']);
/** Active states before any install: ALREADY_INSTALLED may follow them, a manifest's revocation cancels them. */
export const BEFORE_INSTALL_STATES = [
  'QUEUED',
  'NOTIFIED',
  'DOWNLOADING',
  'DOWNLOADED',
  'VERIFIED',
] as const satisfies readonly ActiveExecutionState[];
const BEFORE_INSTALL: ReadonlySet<OtaExecutionState> = new Set(BEFORE_INSTALL_STATES);

export type TransitionCheck = { ok: true } | { ok: false; reason: string };

/**
 * Whether a meter's report (state, attempt) may follow the execution's current (state, attempt).
 * The current state is active (a terminal execution is closed before this is asked).
 */
export function checkReportedTransition(
  current: ActiveExecutionState,
  currentAttempt: number,
  reported: OtaExecutionState,
  attempt: number,
): TransitionCheck {
  if (attempt < currentAttempt) {
    return { ok: false, reason: `attempt ${attempt} is over: the execution is at attempt ${currentAttempt}` };
  }
  const newAttempt = attempt > currentAttempt;
  switch (reported) {
    case 'SUCCEEDED':
    case 'TIMED_OUT':
    case 'CANCELLED':
    case 'REMOVED':
    case 'QUEUED':
      return { ok: false, reason: `${reported} is the distributor's to decide` };
    case 'FAILED':
    case 'REJECTED':
      return { ok: true };
    case 'ROLLED_BACK':
      return INSTALL_BEGUN.has(current) || newAttempt
        ? { ok: true }
        : { ok: false, reason: `nothing was installed yet (the execution is ${current})` };
    case 'ALREADY_INSTALLED':
      return BEFORE_INSTALL.has(current) || newAttempt
        ? { ok: true }
        : { ok: false, reason: `the execution is ${current}: an install is under way` };
    case 'NOTIFIED':
    case 'DOWNLOADING':
    case 'DOWNLOADED':
    case 'VERIFIED':
    case 'INSTALLING':
    case 'REBOOTING':
    case 'CONFIRMING': {
      if (newAttempt) return { ok: true };
      const from = RANK.get(current)!;
      const to = RANK.get(reported)!;
      return to >= from
        ? { ok: true }
        : { ok: false, reason: `${reported} cannot follow ${current} within attempt ${attempt}` };
    }
  }
}
