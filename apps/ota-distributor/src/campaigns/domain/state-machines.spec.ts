import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OTA_EXECUTION_STATES } from '@meterkeep/contracts';
import {
  CAMPAIGN_MACHINE,
  EXECUTION_MACHINE,
  INSTALL_BEGUN,
  PHASE_MACHINE,
  type StateMachine,
} from './state-machines';

/** Applies events from the initial state, keeping the accepted ones; returns the states visited. */
function walk<S extends string, E extends string>(machine: StateMachine<S, E>, events: E[]): S[] {
  const visited = [machine.initial];
  for (const event of events) {
    const result = machine.next(visited.at(-1)!, event);
    if (result.ok) visited.push(result.to);
  }
  return visited;
}

const eventsOf = <S extends string, E extends string>(machine: StateMachine<S, E>) =>
  fc.array(fc.constantFrom(...(Object.keys(machine.transitions) as E[])), { maxLength: 40 });

describe('campaign state machine (spec §6.4)', () => {
  it('runs the approved path to completion and through pause, halt and cancel', () => {
    expect(
      walk(CAMPAIGN_MACHINE, [
        'submit',
        'approve',
        'plan',
        'schedule',
        'start',
        'pause',
        'resume',
        'complete',
      ]),
    ).toEqual([
      'DRAFT',
      'PENDING_APPROVAL',
      'APPROVED',
      'PLANNING',
      'SCHEDULED',
      'RUNNING',
      'PAUSED',
      'RUNNING',
      'COMPLETED',
    ]);
    expect(
      walk(CAMPAIGN_MACHINE, ['submit', 'approve', 'plan', 'start', 'halt', 'cancel', 'finish-cancel']).at(
        -1,
      ),
    ).toBe('CANCELLED');
    expect(walk(CAMPAIGN_MACHINE, ['submit', 'deny']).at(-1)).toBe('DENIED');
    // A scheduled campaign whose manifest was revoked before its start time halts instead of starting.
    expect(walk(CAMPAIGN_MACHINE, ['submit', 'approve', 'plan', 'schedule', 'halt', 'cancel']).at(-1)).toBe(
      'CANCELLING',
    );
    expect(CAMPAIGN_MACHINE.next('APPROVED', 'halt')).toMatchObject({ ok: false });
    // A start is planned first: an approved campaign never runs or waits for its start time unplanned.
    expect(CAMPAIGN_MACHINE.next('APPROVED', 'start')).toMatchObject({ ok: false });
    expect(CAMPAIGN_MACHINE.next('APPROVED', 'schedule')).toMatchObject({ ok: false });
    // Targets that outgrew the shadow run's twins while planning: back to APPROVED, nothing planned.
    expect(walk(CAMPAIGN_MACHINE, ['submit', 'approve', 'plan', 'plan-refused']).at(-1)).toBe('APPROVED');
  });

  it('refuses start before approval, and a halted campaign never completes directly, with a stable code', () => {
    for (const state of ['DRAFT', 'PENDING_APPROVAL', 'DENIED'] as const)
      expect(CAMPAIGN_MACHINE.next(state, 'plan')).toEqual({
        ok: false,
        code: 'ILLEGAL_TRANSITION',
        from: state,
        event: 'plan',
        allowedFrom: ['APPROVED'],
      });
    expect(CAMPAIGN_MACHINE.next('HALTED', 'complete')).toMatchObject({
      ok: false,
      code: 'ILLEGAL_TRANSITION',
    });
    expect(CAMPAIGN_MACHINE.next('DRAFT', 'approve')).toMatchObject({ ok: false });
  });

  it('DENIED, CANCELLED and COMPLETED are final; every other state is reachable and can leave', () => {
    expect(CAMPAIGN_MACHINE.states.filter((s) => CAMPAIGN_MACHINE.isFinal(s)).sort()).toEqual(
      ['CANCELLED', 'COMPLETED', 'DENIED'].sort(),
    );
    const reachable = new Set<string>([CAMPAIGN_MACHINE.initial]);
    for (let grown = true; grown;) {
      grown = false;
      for (const t of Object.values(CAMPAIGN_MACHINE.transitions))
        if (t.from.some((s) => reachable.has(s)) && !reachable.has(t.to)) {
          reachable.add(t.to);
          grown = true;
        }
    }
    expect([...reachable].sort()).toEqual([...CAMPAIGN_MACHINE.states].sort());
  });

  it('property: no event sequence runs a campaign that was never approved', () => {
    fc.assert(
      fc.property(eventsOf(CAMPAIGN_MACHINE), (events) => {
        const visited = walk(CAMPAIGN_MACHINE, events);
        const firstRunning = visited.indexOf('RUNNING');
        if (firstRunning >= 0) expect(visited.slice(0, firstRunning)).toContain('APPROVED');
        // Nothing runs or is scheduled without a plan.
        for (const state of ['RUNNING', 'SCHEDULED'] as const) {
          const first = visited.indexOf(state);
          if (first >= 0) expect(visited.slice(0, first)).toContain('PLANNING');
        }
        // Nothing follows a final state, and DENIED never went through APPROVED.
        const last = visited.at(-1)!;
        if (CAMPAIGN_MACHINE.isFinal(last)) expect(CAMPAIGN_MACHINE.eventsFrom(last)).toEqual([]);
        if (visited.includes('DENIED')) expect(visited).not.toContain('APPROVED');
      }),
    );
  });

  it('property: every refusal names the current state and the states the event is allowed from', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CAMPAIGN_MACHINE.states),
        fc.constantFrom(
          ...(Object.keys(CAMPAIGN_MACHINE.transitions) as (keyof typeof CAMPAIGN_MACHINE.transitions)[]),
        ),
        (from, event) => {
          const result = CAMPAIGN_MACHINE.next(from, event);
          const allowed = CAMPAIGN_MACHINE.transitions[event].from.includes(from);
          expect(result.ok).toBe(allowed);
          if (!result.ok) expect(result.allowedFrom).not.toContain(from);
        },
      ),
    );
  });
});

describe('phase state machine (spec §6.4)', () => {
  it('PENDING → ACTIVE → SOAKING → PASSED, or FAILED; explicit next-phase passes an ACTIVE phase', () => {
    expect(walk(PHASE_MACHINE, ['activate', 'threshold-met', 'pass'])).toEqual([
      'PENDING',
      'ACTIVE',
      'SOAKING',
      'PASSED',
    ]);
    expect(walk(PHASE_MACHINE, ['activate', 'fail'])).toEqual(['PENDING', 'ACTIVE', 'FAILED']);
    expect(PHASE_MACHINE.next('ACTIVE', 'pass').ok).toBe(true);
    expect(PHASE_MACHINE.next('PENDING', 'pass')).toMatchObject({ ok: false, code: 'ILLEGAL_TRANSITION' });
    expect(PHASE_MACHINE.next('PASSED', 'fail')).toMatchObject({ ok: false });
  });

  it('property: a phase passes or fails at most once and only after it was active', () => {
    fc.assert(
      fc.property(eventsOf(PHASE_MACHINE), (events) => {
        const visited = walk(PHASE_MACHINE, events);
        const ends = visited.filter((s) => s === 'PASSED' || s === 'FAILED');
        expect(ends.length).toBeLessThanOrEqual(1);
        if (ends.length) expect(visited).toContain('ACTIVE');
      }),
    );
  });
});

describe('execution state machine (spec §6.4)', () => {
  it('covers the contract states exactly', () => {
    expect([...EXECUTION_MACHINE.states].sort()).toEqual([...OTA_EXECUTION_STATES].sort());
  });

  it('walks an update to SUCCEEDED on a receipt, and re-queues a failed attempt on retry', () => {
    expect(
      walk(EXECUTION_MACHINE, [
        'notify',
        'download',
        'downloaded',
        'verified',
        'install',
        'reboot',
        'confirm',
        'receipt',
      ]),
    ).toEqual([
      'QUEUED',
      'NOTIFIED',
      'DOWNLOADING',
      'DOWNLOADED',
      'VERIFIED',
      'INSTALLING',
      'REBOOTING',
      'CONFIRMING',
      'SUCCEEDED',
    ]);
    expect(walk(EXECUTION_MACHINE, ['notify', 'download', 'fail', 'retry']).at(-1)).toBe('QUEUED');
    expect(EXECUTION_MACHINE.next('REJECTED', 'retry')).toMatchObject({
      ok: false,
      code: 'ILLEGAL_TRANSITION',
    });
  });

  it('graceful cancel stops only what has not started downloading; force stops short of installing', () => {
    expect(EXECUTION_MACHINE.next('NOTIFIED', 'cancel').ok).toBe(true);
    expect(EXECUTION_MACHINE.next('DOWNLOADING', 'cancel').ok).toBe(false);
    expect(EXECUTION_MACHINE.next('VERIFIED', 'force-cancel').ok).toBe(true);
    for (const state of INSTALL_BEGUN) {
      expect(EXECUTION_MACHINE.next(state, 'cancel').ok).toBe(false);
      expect(EXECUTION_MACHINE.next(state, 'force-cancel').ok).toBe(false);
    }
  });

  it('property: an install under way is never cancelled, and SUCCEEDED comes only from a receipt', () => {
    fc.assert(
      fc.property(eventsOf(EXECUTION_MACHINE), (events) => {
        let state = EXECUTION_MACHINE.initial;
        for (const event of events) {
          const result = EXECUTION_MACHINE.next(state, event);
          if (!result.ok) continue;
          if (result.to === 'CANCELLED') expect(INSTALL_BEGUN).not.toContain(state);
          if (result.to === 'SUCCEEDED') expect(event).toBe('receipt');
          if (result.to === 'NOTIFIED') expect(event).toBe('notify');
          state = result.to;
        }
      }),
    );
  });
});
