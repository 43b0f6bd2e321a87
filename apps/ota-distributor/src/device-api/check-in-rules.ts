import { hash } from 'node:crypto';
import type { DeviceState, ExecutionRow } from '../core/database';

/** Server-directed poll interval with ±10% jitter, so a fleet's polls spread out (never below 1 s). */
export function jitteredPollSeconds(base: number, random: () => number = Math.random): number {
  return Math.max(1, Math.round(base * (0.9 + 0.2 * random())));
}

/** Longest spread of a fleet's first polls into an install window (a tenth of the window, at most this). */
const WINDOW_SPREAD_MAX_S = 300;

/**
 * The poll interval cut short when the install window of the directive the meter holds opens before its
 * next poll: the meter asks again as the window opens, spread over the window's first tenth (at most
 * 5 min) so a fleet does not arrive in its first second. A window open or past changes nothing.
 */
export function pollBeforeWindow(
  pollAfterSeconds: number,
  window: { startsAt: string; endsAt: string } | undefined,
  now: Date,
  random: () => number = Math.random,
): number {
  if (!window) return pollAfterSeconds;
  const startsIn = (Date.parse(window.startsAt) - now.getTime()) / 1000;
  if (!(startsIn > 0) || startsIn >= pollAfterSeconds) return pollAfterSeconds;
  const length = (Date.parse(window.endsAt) - Date.parse(window.startsAt)) / 1000;
  const spread = Math.max(0, Math.min(WINDOW_SPREAD_MAX_S, length / 10));
  return Math.min(pollAfterSeconds, Math.max(1, Math.ceil(startsIn + spread * random())));
}

/**
 * The ETag of a meter's check-in: over the directive state (the device's latest execution, its
 * version, whether it is held) and what the meter reported. It changes when a deployment adds an
 * execution, a directive is issued, a status moves the state, a receipt or a decommission ends it.
 */
export function checkInEtag(
  deviceState: DeviceState | null,
  execution: Pick<ExecutionRow, 'execution_id' | 'version' | 'state'> | null,
  reported: { installed: string; seq: string; slot: string },
): string {
  const material = [
    deviceState ?? '-',
    execution ? `${execution.execution_id}:${execution.version}:${execution.state}` : '-',
    reported.installed,
    reported.seq,
    reported.slot,
  ].join('|');
  // One-shot hash: computed on every check-in, 304s included (a third of createHash's cost).
  return `"${hash('sha256', material, 'base64url').slice(0, 27)}"`;
}

/** Whether an If-None-Match header names this ETag (a list, weak forms and `*` included). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch || ifNoneMatch.length > 1024) return false;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etag);
}
