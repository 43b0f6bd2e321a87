import { type Granularity, coarser, rank } from '../consents/policy';
import { type ReleaseLevel, type Span, childWindows, finerLevel, windowOf } from './calendar-windows';

/**
 * What the release gate lets out of one occupancy for one (recipient, purpose): pure, no I/O.
 *
 * The rules, each closing a way a finer series could leak:
 * - A released value is the sum of the interval readings (never register snapshots, which are running
 *   totals: two of them at any instants give the consumption between) whose interval starts in one
 *   calendar window of the tenant's zone (local month, local day, half-hour), cut at the occupancy's
 *   bounds. Two occupants sharing a month each get a partial value with their own bounds.
 * - A window is released at a level only when the permission is at least that level over the whole of
 *   it at the reading's time (the consent timeline) AND at release time (both-times rule); a window
 *   partly without permission is not released at its level, only those of its finer windows that are
 *   permitted whole.
 * - Released windows never overlap: each reading counts in at most one released value per (recipient,
 *   purpose), and a window once any part of it is released is never released whole. Sums over disjoint
 *   windows can only be added to sums over unions of those windows: nothing finer is derivable by
 *   subtraction (release-plan.property.spec.ts).
 * - A window is released once, after it closed (closedBefore: its end plus the grace for late readings,
 *   and its readings in); a reading that arrives for a window already released stays unreleased (a
 *   correction would be a difference).
 */

export interface StagedReading {
  obis: string;
  unit: string;
  /** Epoch ms; the reading counts in the window its interval starts in. */
  intervalStart: number;
  intervalMinutes: number;
  /** value × 10^scaler, in unit. */
  quantity: number;
}

export interface PermissionSpan {
  from: number;
  /** Exclusive; null while open-ended. */
  to: number | null;
  granularity: Granularity;
}

export interface ReleasedWindow extends Span {
  level: ReleaseLevel;
}

export interface ReleaseTotal {
  obis: string;
  unit: string;
  quantity: number;
  readingCount: number;
}

export interface Release extends ReleasedWindow {
  totals: ReleaseTotal[];
}

export interface ReleasePlanInput {
  timeZone: string;
  /** The occupancy's bounds; `to` null while it is open. */
  occupancy: { from: number; to: number | null };
  /** The consent timeline of (occupancy, recipient, purpose) at reading times. */
  permissions: readonly PermissionSpan[];
  /** The permission as the ledger stands at release time. */
  atRelease: Granularity;
  readings: readonly StagedReading[];
  /** What was released before for this (occupancy, recipient, purpose). */
  released: readonly ReleasedWindow[];
  /** Windows ending at or before this instant are closed (closedBefore()). */
  closedBefore: number;
}

/**
 * Up to when windows are closed: `grace` after their end by the clock, and, while the occupancy's
 * readings are still arriving, no later than the readings reached (event time), so a consumer catching
 * up on a backlog never releases a window before its readings are in. Once nothing arrived for the grace,
 * the clock alone decides (a meter that fell silent).
 */
export function closedBefore(options: {
  now: number;
  graceMs: number;
  /** The latest interval end staged for the occupancy. */
  watermark: number;
  /** When the occupancy's last reading was staged. */
  lastReceivedAt: number;
}): number {
  const byClock = options.now - options.graceMs;
  const quiet = options.now - options.lastReceivedAt >= options.graceMs;
  return quiet ? byClock : Math.min(byClock, options.watermark);
}

/** The coarsest permission over a span; `none` where no permission span covers part of it. */
export function coarsestOver(permissions: readonly PermissionSpan[], span: Span): Granularity {
  const covering = permissions
    .filter((p) => p.from < span.end && (p.to === null || p.to > span.start))
    .sort((a, b) => a.from - b.from);
  let covered = span.start;
  let result: Granularity = 'half-hourly';
  for (const p of covering) {
    if (p.from > covered) return 'none';
    result = coarser(result, p.granularity);
    covered = p.to ?? Number.POSITIVE_INFINITY;
    if (covered >= span.end) return result;
  }
  return 'none';
}

const overlaps = (a: Span, b: Span) => a.start < b.end && b.start < a.end;

/** Interval readings only: a register snapshot (intervalMinutes 0) is a running total. */
export const isReleasable = (reading: Pick<StagedReading, 'intervalMinutes'>) => reading.intervalMinutes > 0;

function totalsOf(readings: readonly StagedReading[]): ReleaseTotal[] {
  const byRegister = new Map<string, ReleaseTotal>();
  for (const reading of readings) {
    const key = `${reading.obis}\0${reading.unit}`;
    const total = byRegister.get(key) ?? {
      obis: reading.obis,
      unit: reading.unit,
      quantity: 0,
      readingCount: 0,
    };
    total.quantity += reading.quantity;
    total.readingCount += 1;
    byRegister.set(key, total);
  }
  return [...byRegister.values()].sort((a, b) => (a.obis + a.unit < b.obis + b.unit ? -1 : 1));
}

/** The values to release now; the caller records them as released once they are produced. */
export function planRelease(input: ReleasePlanInput): Release[] {
  return planReleaseAhead(input).releases;
}

/**
 * The values to release now and, of the windows that will be released at their level once closed (as
 * the permissions stand), the earliest end: the gate need not plan the occupancy again before it closes
 * unless something changes (readings, ledger, occupancy, or a permission boundary passing).
 */
export function planReleaseAhead(input: ReleasePlanInput): {
  releases: Release[];
  pendingEnd: number | null;
} {
  const { timeZone, occupancy } = input;
  const occupancyEnd = occupancy.to ?? Number.POSITIVE_INFINITY;
  const readings = input.readings
    .filter(isReleasable)
    .filter((r) => r.intervalStart >= occupancy.from && r.intervalStart < occupancyEnd)
    .sort((a, b) => a.intervalStart - b.intervalStart);
  const within = (span: Span) =>
    readings.filter((r) => r.intervalStart >= span.start && r.intervalStart < span.end);
  const releases: Release[] = [];
  let pendingEnd = Number.POSITIVE_INFINITY;

  const visit = (level: ReleaseLevel, span: Span, held: readonly StagedReading[]) => {
    if (held.length === 0) return;
    const child = finerLevel(level);
    const descend = () => {
      if (!child) return;
      for (const inner of childWindows(timeZone, level, span))
        visit(
          child,
          inner,
          held.filter((r) => r.intervalStart >= inner.start && r.intervalStart < inner.end),
        );
    };
    const touched = input.released.filter((r) => overlaps(r, span));
    if (touched.some((r) => r.level === level && r.start === span.start && r.end === span.end)) return;
    if (touched.length > 0) return descend();
    const permitted = coarser(coarsestOver(input.permissions, span), input.atRelease);
    if (permitted === level) {
      if (span.end <= input.closedBefore) releases.push({ level, ...span, totals: totalsOf(held) });
      else pendingEnd = Math.min(pendingEnd, span.end);
      return;
    }
    if (permitted === 'none' || rank(permitted) > rank(level)) descend();
  };

  const months = new Map<number, Span>();
  for (const reading of readings) {
    const month = windowOf(timeZone, 'monthly', reading.intervalStart);
    months.set(month.start, {
      start: Math.max(month.start, occupancy.from),
      end: Math.min(month.end, occupancyEnd),
    });
  }
  for (const month of [...months.values()].sort((a, b) => a.start - b.start))
    visit('monthly', month, within(month));
  return { releases, pendingEnd: Number.isFinite(pendingEnd) ? pendingEnd : null };
}

/**
 * When the gate must plan an occupancy again if nothing is marked meanwhile (no reading staged, no
 * ledger or occupancy change): null for never. The earliest of
 * - a pending window's close (`planReleaseAhead`): its end plus the grace by the clock; when the
 *   readings staged do not reach its end yet, not before the occupancy fell quiet (closedBefore()),
 *   since until then only a new reading (which marks it) can close it;
 * - a permission boundary still ahead (a grant's end, a default that takes effect after its notice):
 *   the permission at release time changes with no ledger row written.
 */
export function nextPlanAt(options: {
  now: number;
  graceMs: number;
  pendingEnd: number | null;
  watermark: number;
  lastReceivedAt: number;
  /** Every from/to of the permission timelines planned. */
  permissionBoundaries: readonly number[];
}): number | null {
  let next = Number.POSITIVE_INFINITY;
  const { pendingEnd, graceMs } = options;
  if (pendingEnd !== null)
    next =
      pendingEnd <= options.watermark
        ? pendingEnd + graceMs
        : Math.max(pendingEnd, options.lastReceivedAt) + graceMs;
  for (const t of options.permissionBoundaries) if (t > options.now) next = Math.min(next, t);
  return Number.isFinite(next) ? next : null;
}
