/**
 * Calendar windows in a tenant's time zone, in epoch milliseconds: local months, local days and
 * half-hours. Plain TypeScript on Intl (no date library): a window is [start, end), and the levels nest
 * (half-hours in days, days in months) in any zone whose UTC offsets are whole half-hours, which
 * `assertHalfHourZone` checks. Europe/London days hold 46, 48 or 50 half-hours.
 */

export const RELEASE_LEVELS = ['monthly', 'daily', 'half-hourly'] as const;
export type ReleaseLevel = (typeof RELEASE_LEVELS)[number];

export interface Span {
  start: number;
  end: number;
}

const HALF_HOUR_MS = 30 * 60_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** The local calendar fields of an instant. */
function localFields(timeZone: string, at: number) {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(at))
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  return {
    year: parts.year!,
    month: parts.month! - 1,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** The zone's offset from UTC at an instant, in milliseconds (whole seconds). */
export function offsetAt(timeZone: string, at: number): number {
  const f = localFields(timeZone, at);
  const asUtc = Date.UTC(f.year, f.month, f.day, f.hour, f.minute, f.second);
  return asUtc - Math.floor(at / 1000) * 1000;
}

/** The first instant of a local calendar day (month overflow allowed: day 32 is the next month's 1st). */
export function localMidnight(timeZone: string, year: number, month: number, day: number): number {
  const wall = Date.UTC(year, month, day);
  // Two rounds settle the offset (a midnight inside a DST gap would move forward; London has none).
  let guess = wall - offsetAt(timeZone, wall);
  guess = wall - offsetAt(timeZone, guess);
  return guess;
}

/** Refuses zones whose offsets are not whole half-hours: half-hours would not nest in local days. */
export function assertHalfHourZone(timeZone: string, at: number): void {
  if (offsetAt(timeZone, at) % HALF_HOUR_MS !== 0)
    throw new Error(`${timeZone}: its UTC offset is not a whole number of half-hours`);
}

/** Local days and months by half-hour (their bounds are half-hour bounds): Intl is slow. */
const windowCache = new Map<string, Span>();
const WINDOW_CACHE_LIMIT = 100_000;

/** The calendar window of a level holding the instant. */
export function windowOf(timeZone: string, level: ReleaseLevel, at: number): Span {
  const halfHour = Math.floor(at / HALF_HOUR_MS);
  if (level === 'half-hourly') return { start: halfHour * HALF_HOUR_MS, end: (halfHour + 1) * HALF_HOUR_MS };
  const key = `${timeZone}\0${level}\0${halfHour}`;
  const cached = windowCache.get(key);
  if (cached) return { ...cached };
  const window = calendarWindow(timeZone, level, halfHour * HALF_HOUR_MS);
  if (windowCache.size >= WINDOW_CACHE_LIMIT) windowCache.clear();
  windowCache.set(key, window);
  return { ...window };
}

function calendarWindow(timeZone: string, level: 'monthly' | 'daily', at: number): Span {
  const f = localFields(timeZone, at);
  if (level === 'daily')
    return {
      start: localMidnight(timeZone, f.year, f.month, f.day),
      end: localMidnight(timeZone, f.year, f.month, f.day + 1),
    };
  return {
    start: localMidnight(timeZone, f.year, f.month, 1),
    end: localMidnight(timeZone, f.year, f.month + 1, 1),
  };
}

/** The next finer level, or undefined below half-hours. */
export function finerLevel(level: ReleaseLevel): ReleaseLevel | undefined {
  return RELEASE_LEVELS[RELEASE_LEVELS.indexOf(level) + 1];
}

/** The windows of the next finer level that tile `span` (each cut to it). */
export function childWindows(timeZone: string, level: ReleaseLevel, span: Span): Span[] {
  const child = finerLevel(level);
  if (!child) return [];
  const windows: Span[] = [];
  for (let at = span.start; at < span.end;) {
    const window = windowOf(timeZone, child, at);
    windows.push({ start: Math.max(window.start, span.start), end: Math.min(window.end, span.end) });
    at = window.end;
  }
  return windows;
}
