/**
 * Maintenance windows (spec §6.1, §6.5): `{cron, durationMinutes, timezone}` gates install, not
 * download. The distributor resolves them to absolute UTC instants for the directive, so a meter needs
 * no time-zone database.
 *
 * The cron subset, five fields `minute hour day-of-month month day-of-week`:
 *   each field a comma list of `*`, `n`, `a-b`, `*∕s`, `a-b∕s` or `n∕s` (n to the field's end);
 *   minute 0–59, hour 0–23, day-of-month 1–31, month 1–12, day-of-week 0–7 (0 and 7 are Sunday);
 *   no names, no `?`, `L`, `W` or `#`. When both day fields are restricted a day matches either (as Vixie
 *   cron and POSIX do).
 * Wall-clock times resolve in the IANA zone like Temporal's "compatible" disambiguation: a time the
 * spring-forward gap skips opens at the same distance after the gap (01:30 in London on the last
 * Sunday of March opens at 02:30 BST); a time the autumn fold repeats opens once, at the first
 * occurrence. The duration is elapsed time: a window that spans a transition keeps its length.
 */

export const MAX_CRON_LENGTH = 120;
export const MIN_WINDOW_MINUTES = 1;
export const MAX_WINDOW_MINUTES = 1430;

export interface MaintenanceWindow {
  cron: string;
  durationMinutes: number;
  timezone: string;
}

export interface WindowInstants {
  startsAt: Date;
  endsAt: Date;
}

export interface CronSchedule {
  minutes: readonly number[];
  hours: readonly number[];
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  daysOfWeek: ReadonlySet<number>;
  dayOfMonthRestricted: boolean;
  dayOfWeekRestricted: boolean;
}

export type WindowRefusal = {
  ok: false;
  code: 'INVALID_CRON' | 'INVALID_TIMEZONE' | 'INVALID_DURATION';
  field: string;
  message: string;
};

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 7 },
] as const;

const INTEGER = /^\d{1,2}$/;

function parseField(text: string, min: number, max: number): number[] | string {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined || range === undefined || range === '') return `bad element "${part}"`;
    let step = 1;
    if (stepText !== undefined) {
      if (!INTEGER.test(stepText) || Number(stepText) < 1) return `bad step "${stepText}"`;
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (range === '*') [from, to] = [min, max];
    else {
      const bounds = range.split('-');
      if (bounds.length > 2 || !bounds.every((b) => INTEGER.test(b))) return `bad range "${range}"`;
      from = Number(bounds[0]);
      to = bounds.length === 2 ? Number(bounds[1]) : stepText !== undefined ? max : from;
      if (from < min || to > max || from > to) return `"${range}" outside ${min}-${max}`;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

export function parseCron(expression: string): { ok: true; schedule: CronSchedule } | WindowRefusal {
  const refuse = (message: string): WindowRefusal => ({
    ok: false,
    code: 'INVALID_CRON',
    field: 'cron',
    message,
  });
  if (expression.length > MAX_CRON_LENGTH) return refuse(`longer than ${MAX_CRON_LENGTH} characters`);
  const texts = expression.trim().split(/\s+/);
  if (texts.length !== 5) return refuse('five fields: minute hour day-of-month month day-of-week');
  const parsed: number[][] = [];
  for (const [i, field] of FIELDS.entries()) {
    const values = parseField(texts[i]!, field.min, field.max);
    if (typeof values === 'string') return refuse(`${field.name}: ${values}`);
    parsed.push(values);
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = parsed as [
    number[],
    number[],
    number[],
    number[],
    number[],
  ];
  return {
    ok: true,
    schedule: {
      minutes,
      hours,
      daysOfMonth: new Set(daysOfMonth),
      months: new Set(months),
      daysOfWeek: new Set(daysOfWeek.map((d) => d % 7)),
      dayOfMonthRestricted: texts[2] !== '*',
      dayOfWeekRestricted: texts[4] !== '*',
    },
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let format = formatters.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, format);
  }
  return format;
}

export function isTimeZone(timezone: string): boolean {
  if (timezone.length === 0 || timezone.length > 64) return false;
  try {
    formatter(timezone);
    return true;
  } catch {
    return false;
  }
}

/** The zone's wall clock at an instant, as milliseconds of a UTC date with the same fields. */
export function wallClock(timezone: string, instantMs: number): number {
  const parts: Record<string, number> = {};
  for (const part of formatter(timezone).formatToParts(new Date(instantMs)))
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  return Date.UTC(parts.year!, parts.month! - 1, parts.day, parts.hour, parts.minute, parts.second);
}

const offsetAt = (timezone: string, instantMs: number) => {
  const whole = Math.floor(instantMs / 1000) * 1000;
  return wallClock(timezone, whole) - whole;
};

const DAY_MS = 86_400_000;

/** The instant a wall-clock time names in a zone ("compatible": gap → shifted forward, fold → first). */
export function wallToInstant(timezone: string, wallMs: number): number {
  const before = offsetAt(timezone, wallMs - DAY_MS);
  const after = offsetAt(timezone, wallMs + DAY_MS);
  const candidates = [...new Set([before, after])]
    .map((offset) => wallMs - offset)
    .filter((instant) => wallClock(timezone, instant) === wallMs)
    .sort((a, b) => a - b);
  // No candidate: the time lies in a gap; with the offset from before it, it lands after the gap.
  return candidates[0] ?? wallMs - before;
}

function dayMatches(schedule: CronSchedule, dayMs: number): boolean {
  const date = new Date(dayMs);
  if (!schedule.months.has(date.getUTCMonth() + 1)) return false;
  const byMonthDay = schedule.daysOfMonth.has(date.getUTCDate());
  const byWeekDay = schedule.daysOfWeek.has(date.getUTCDay());
  if (schedule.dayOfMonthRestricted && schedule.dayOfWeekRestricted) return byMonthDay || byWeekDay;
  return byMonthDay && byWeekDay;
}

export function validateWindow(
  window: MaintenanceWindow,
): { ok: true; schedule: CronSchedule } | WindowRefusal {
  if (
    !Number.isInteger(window.durationMinutes) ||
    window.durationMinutes < MIN_WINDOW_MINUTES ||
    window.durationMinutes > MAX_WINDOW_MINUTES
  )
    return {
      ok: false,
      code: 'INVALID_DURATION',
      field: 'durationMinutes',
      message: `an integer from ${MIN_WINDOW_MINUTES} to ${MAX_WINDOW_MINUTES}`,
    };
  if (!isTimeZone(window.timezone))
    return { ok: false, code: 'INVALID_TIMEZONE', field: 'timezone', message: 'not an IANA time zone' };
  return parseCron(window.cron);
}

/** How far ahead a window is looked for: Feb 29 comes within four years (1,461 days). */
export const SEARCH_DAYS = 1_470;

/** Window instants in start order, beginning with any still open at `fromMs`. */
export function* windowsFrom(
  window: MaintenanceWindow,
  schedule: CronSchedule,
  fromMs: number,
): Generator<WindowInstants> {
  const duration = window.durationMinutes * 60_000;
  const firstWall = wallClock(window.timezone, fromMs - duration) - DAY_MS;
  let day = Math.floor(firstWall / DAY_MS) * DAY_MS;
  let last = -Infinity;
  for (let i = 0; i < SEARCH_DAYS + 2; i++, day += DAY_MS) {
    if (!dayMatches(schedule, day)) continue;
    const starts: number[] = [];
    for (const hour of schedule.hours)
      for (const minute of schedule.minutes)
        starts.push(wallToInstant(window.timezone, day + hour * 3_600_000 + minute * 60_000));
    starts.sort((a, b) => a - b);
    for (const start of starts) {
      if (start <= last) continue; // two wall times resolved to one instant around a gap
      last = start;
      if (start + duration > fromMs) yield { startsAt: new Date(start), endsAt: new Date(start + duration) };
    }
  }
}

/**
 * The window to send a meter at `now`: the open one that lasts longest, else the next to open, over
 * all the campaign's windows; null when none opens within the search horizon.
 */
export function nextWindow(windows: readonly MaintenanceWindow[], now: Date): WindowInstants | null {
  const at = now.getTime();
  let best: WindowInstants | null = null;
  for (const window of windows) {
    const valid = validateWindow(window);
    if (!valid.ok) continue;
    let open: WindowInstants | null = null;
    for (const candidate of windowsFrom(window, valid.schedule, at)) {
      if (candidate.startsAt.getTime() > at) {
        if (!open) open = candidate;
        break;
      }
      if (!open || candidate.endsAt > open.endsAt) open = candidate;
    }
    if (!open) continue;
    const isOpen = (w: WindowInstants) => w.startsAt.getTime() <= at;
    if (
      !best ||
      (isOpen(open) && (!isOpen(best) || open.endsAt > best.endsAt)) ||
      (!isOpen(open) && !isOpen(best) && open.startsAt < best.startsAt)
    )
      best = open;
  }
  return best;
}

/**
 * The install window a directive carries (spec §5.2, §6.5): none without maintenance windows (install
 * when ready); otherwise the one open at `now`, else the next to open. Download is never gated: a
 * directive outside a window still lets the meter download, its `window` then starting after `now`.
 * Windows that never open within the horizon (a cron naming 30 February) give none.
 */
export function directiveWindow(windows: readonly MaintenanceWindow[], now: Date): WindowInstants | null {
  return windows.length === 0 ? null : nextWindow(windows, now);
}
