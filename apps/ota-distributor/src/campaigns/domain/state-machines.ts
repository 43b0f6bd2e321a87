import { OTA_CAMPAIGN_STATES, OTA_PHASE_STATES, type OtaExecutionState } from '@meterkeep/contracts';

/**
 * The campaign, phase and execution state machines of spec §6.4 as data: each event names the states
 * it may leave and the one it enters. Use cases ask `next` and turn a refusal into a 409 that names the
 * current state; the tables are the single place a transition is allowed.
 */

export interface Transition<S extends string> {
  readonly from: readonly S[];
  readonly to: S;
}

export type TransitionResult<S extends string, E extends string> =
  | { ok: true; from: S; event: E; to: S }
  | { ok: false; code: 'ILLEGAL_TRANSITION'; from: S; event: E; allowedFrom: readonly S[] };

export interface StateMachine<S extends string, E extends string> {
  readonly states: readonly S[];
  readonly initial: S;
  readonly transitions: Readonly<Record<E, Transition<S>>>;
  next(from: S, event: E): TransitionResult<S, E>;
  /** Events allowed from a state, in table order. */
  eventsFrom(from: S): E[];
  /** No event leaves it (FAILED is not final for an execution: a retry re-queues it). */
  isFinal(state: S): boolean;
}

function defineMachine<S extends string, E extends string>(
  states: readonly S[],
  initial: S,
  transitions: Record<E, Transition<S>>,
): StateMachine<S, E> {
  const events = Object.keys(transitions) as E[];
  const eventsFrom = (from: S) => events.filter((e) => transitions[e].from.includes(from));
  return {
    states,
    initial,
    transitions,
    next(from, event) {
      const transition = transitions[event];
      return transition.from.includes(from)
        ? { ok: true, from, event, to: transition.to }
        : { ok: false, code: 'ILLEGAL_TRANSITION', from, event, allowedFrom: transition.from };
    },
    eventsFrom,
    isFinal: (state) => eventsFrom(state).length === 0,
  };
}

/**
 * The contract's states (libs/contracts), which the transitions below must cover, and PLANNING: an
 * accepted start whose plan is being persisted, which the contract shows as APPROVED with `planning`.
 */
export const CAMPAIGN_STATES = [...OTA_CAMPAIGN_STATES, 'PLANNING'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

export type CampaignEvent =
  | 'submit'
  | 'approve'
  | 'deny'
  | 'plan'
  | 'plan-refused'
  | 'schedule'
  | 'start'
  | 'pause'
  | 'resume'
  | 'halt'
  | 'cancel'
  | 'finish-cancel'
  | 'complete';

/**
 * DRAFT → PENDING_APPROVAL → APPROVED → PLANNING → [SCHEDULED →] RUNNING ⇄ PAUSED; RUNNING → HALTED
 * (automatic) → RUNNING (resume, acknowledged) or CANCELLING → CANCELLED; RUNNING → COMPLETED; DENIED
 * terminal. PLANNING: the start was accepted and the planner persists the targets in the background; it
 * returns to APPROVED only when the targets changed since the start so that the shadow run no longer
 * covers them. A paused campaign can still halt: executions already installing go on reporting. Start
 * is refused before approval by construction: only APPROVED campaigns are planned.
 */
export const CAMPAIGN_MACHINE = defineMachine<CampaignState, CampaignEvent>(CAMPAIGN_STATES, 'DRAFT', {
  submit: { from: ['DRAFT'], to: 'PENDING_APPROVAL' },
  approve: { from: ['PENDING_APPROVAL'], to: 'APPROVED' },
  deny: { from: ['PENDING_APPROVAL'], to: 'DENIED' },
  plan: { from: ['APPROVED'], to: 'PLANNING' },
  'plan-refused': { from: ['PLANNING'], to: 'APPROVED' },
  schedule: { from: ['PLANNING'], to: 'SCHEDULED' },
  start: { from: ['PLANNING', 'SCHEDULED'], to: 'RUNNING' },
  pause: { from: ['RUNNING'], to: 'PAUSED' },
  resume: { from: ['PAUSED', 'HALTED'], to: 'RUNNING' },
  // SCHEDULED or PLANNING: its start time came, or its plan was made, after its manifest was revoked.
  halt: { from: ['PLANNING', 'SCHEDULED', 'RUNNING', 'PAUSED'], to: 'HALTED' },
  cancel: { from: ['APPROVED', 'PLANNING', 'SCHEDULED', 'RUNNING', 'PAUSED', 'HALTED'], to: 'CANCELLING' },
  'finish-cancel': { from: ['CANCELLING'], to: 'CANCELLED' },
  complete: { from: ['RUNNING'], to: 'COMPLETED' },
});

export const PHASE_STATES = OTA_PHASE_STATES;
export type PhaseState = (typeof PHASE_STATES)[number];
export type PhaseEvent = 'activate' | 'threshold-met' | 'pass' | 'fail';

/**
 * PENDING → ACTIVE → SOAKING → PASSED | FAILED. SOAKING: the success threshold is met and the soak time
 * runs. An explicit next-phase passes an ACTIVE phase without soaking; a halt fails it.
 */
export const PHASE_MACHINE = defineMachine<PhaseState, PhaseEvent>(PHASE_STATES, 'PENDING', {
  activate: { from: ['PENDING'], to: 'ACTIVE' },
  'threshold-met': { from: ['ACTIVE'], to: 'SOAKING' },
  pass: { from: ['ACTIVE', 'SOAKING'], to: 'PASSED' },
  fail: { from: ['ACTIVE', 'SOAKING'], to: 'FAILED' },
});

export type ExecutionEvent =
  | 'notify'
  | 'download'
  | 'downloaded'
  | 'verified'
  | 'install'
  | 'reboot'
  | 'confirm'
  | 'receipt'
  | 'already-installed'
  | 'fail'
  | 'reject'
  | 'roll-back'
  | 'time-out'
  | 'cancel'
  | 'force-cancel'
  | 'remove'
  | 'retry';

const BEFORE_DOWNLOAD = ['QUEUED', 'NOTIFIED'] as const satisfies OtaExecutionState[];
const NOT_INSTALLING = [
  ...BEFORE_DOWNLOAD,
  'DOWNLOADING',
  'DOWNLOADED',
  'VERIFIED',
] as const satisfies OtaExecutionState[];
const INSTALL_BEGUN = ['INSTALLING', 'REBOOTING', 'CONFIRMING'] as const satisfies OtaExecutionState[];
const UNFINISHED = [...NOT_INSTALLING, ...INSTALL_BEGUN] as const;
/** States after admission: the meter holds the directive and may report from here. */
const DEVICE_REACHED = ['NOTIFIED', 'DOWNLOADING', 'DOWNLOADED', 'VERIFIED', ...INSTALL_BEGUN] as const;
const REACHED_NOT_INSTALLING = ['NOTIFIED', 'DOWNLOADING', 'DOWNLOADED', 'VERIFIED'] as const;

export const EXECUTION_STATES = [
  ...UNFINISHED,
  'SUCCEEDED',
  'FAILED',
  'REJECTED',
  'ROLLED_BACK',
  'TIMED_OUT',
  'CANCELLED',
  'REMOVED',
  'ALREADY_INSTALLED',
] as const satisfies readonly OtaExecutionState[];

/**
 * Execution transitions by cause. Meters move forward (they may skip reports); the distributor alone
 * notifies (admission), succeeds (verified receipt), times out, cancels, removes and retries.
 * Cancel never reaches an install under way: interrupting a flash write is worse than finishing it.
 * A retry re-queues a FAILED or TIMED_OUT execution under the same id with the next attempt.
 */
export const EXECUTION_MACHINE = defineMachine<OtaExecutionState, ExecutionEvent>(
  EXECUTION_STATES,
  'QUEUED',
  {
    notify: { from: ['QUEUED'], to: 'NOTIFIED' },
    download: { from: ['NOTIFIED', 'DOWNLOADING'], to: 'DOWNLOADING' },
    downloaded: { from: ['NOTIFIED', 'DOWNLOADING', 'DOWNLOADED'], to: 'DOWNLOADED' },
    verified: { from: ['NOTIFIED', 'DOWNLOADING', 'DOWNLOADED', 'VERIFIED'], to: 'VERIFIED' },
    install: { from: [...REACHED_NOT_INSTALLING, 'INSTALLING'], to: 'INSTALLING' },
    reboot: { from: ['INSTALLING', 'REBOOTING'], to: 'REBOOTING' },
    confirm: { from: ['INSTALLING', 'REBOOTING', 'CONFIRMING'], to: 'CONFIRMING' },
    // A meter may lose reports: its signed receipt proves the boot whatever was last heard.
    receipt: { from: [...DEVICE_REACHED], to: 'SUCCEEDED' },
    'already-installed': { from: [...REACHED_NOT_INSTALLING], to: 'ALREADY_INSTALLED' },
    fail: { from: [...DEVICE_REACHED], to: 'FAILED' },
    reject: { from: [...DEVICE_REACHED], to: 'REJECTED' },
    'roll-back': { from: [...INSTALL_BEGUN], to: 'ROLLED_BACK' },
    'time-out': { from: [...DEVICE_REACHED], to: 'TIMED_OUT' },
    cancel: { from: [...BEFORE_DOWNLOAD], to: 'CANCELLED' },
    'force-cancel': { from: [...NOT_INSTALLING], to: 'CANCELLED' },
    remove: { from: [...UNFINISHED], to: 'REMOVED' },
    retry: { from: ['FAILED', 'TIMED_OUT'], to: 'QUEUED' },
  },
);

export { INSTALL_BEGUN, NOT_INSTALLING };
