/** When an occupancy holds: [from, to), open-ended while `to` is null. */
export interface Period {
  from: Date;
  to: Date | null;
}

const end = (period: Period) => period.to?.getTime() ?? Number.POSITIVE_INFINITY;

/** Whether two periods share an instant. Half-open: one ending when the next starts do not overlap. */
export function overlaps(a: Period, b: Period): boolean {
  return a.from.getTime() < end(b) && b.from.getTime() < end(a);
}

/** The first of `existing` that `candidate` overlaps, if any. */
export function firstOverlap<T extends Period>(candidate: Period, existing: readonly T[]): T | undefined {
  return existing.find((period) => overlaps(candidate, period));
}

/** Whether `at` falls in the period: from <= at < to. */
export function covers(period: Period, at: Date): boolean {
  return period.from.getTime() <= at.getTime() && at.getTime() < end(period);
}

/** A period must end after it starts. */
export function isValidEnd(from: Date, to: Date): boolean {
  return to.getTime() > from.getTime();
}

const DAY_MS = 86_400_000;

/** Whether an end `to` lies further than `maxDays` before `now` (a move-out dated too far back). */
export function isBackdatedTooFar(to: Date, now: Date, maxDays: number): boolean {
  return now.getTime() - to.getTime() > maxDays * DAY_MS;
}

/** Whether a start `from` lies in the past, within `maxDays` of `now` (a back-dated move-in to re-seal for). */
export function isBackdatedWithin(from: Date, now: Date, maxDays: number): boolean {
  return from.getTime() < now.getTime() && !isBackdatedTooFar(from, now, maxDays);
}
