import { createHash } from 'node:crypto';
import {
  type MeterEvent,
  type MeterReading,
  TELEMETRY_MAX_READINGS,
  type TelemetryBatch,
} from '@meterkeep/contracts';

/**
 * What a simulated household meter records: a half-hourly load profile of active energy import, a
 * daily snapshot of its import register, and now and then an event. Pure and deterministic: the same
 * endpoint name and day always give the same data, whatever else was generated before, so any day
 * can be made on its own (memory stays bounded) and a resend carries exactly what was sent before.
 */

/** Active energy import per capture period (load profile). */
export const INTERVAL_OBIS = '1-0:1.29.0*255';
/** Active energy import register (cumulative). */
export const REGISTER_OBIS = '1-0:1.8.0*255';
export const INTERVAL_MINUTES_USED = 30;
export const INTERVALS_PER_DAY = (24 * 60) / INTERVAL_MINUTES_USED;
/** The day the simulated meters were installed: their registers start counting here. */
export const FIRST_DAY = '2020-01-01';

const DAY_MS = 86_400_000;
const INTERVAL_S = INTERVAL_MINUTES_USED * 60;
const EPOCH_MS = Date.parse(`${FIRST_DAY}T00:00:00Z`);
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Chances per meter-day. */
const OUTAGE_CHANCE = 0.02;
const TAMPER_CHANCE = 0.001;
const REVERSE_FLOW_CHANCE = 0.003;

export interface DayEvent {
  event: MeterEvent;
  /** Index in the day's readings of the interval the event fell in. */
  readingIndex: number;
}

export interface MeterDay {
  endpointName: string;
  /** The UTC day, YYYY-MM-DD. */
  day: string;
  /** The register snapshot at 00:00Z first, then the 48 half-hour intervals in time order. */
  readings: MeterReading[];
  /** In time order. */
  events: DayEvent[];
}

/** A UTC day (YYYY-MM-DD) moved by some days. */
export function addDays(day: string, days: number): string {
  return new Date(dayStartMs(day) + days * DAY_MS).toISOString().slice(0, 10);
}

function dayStartMs(day: string): number {
  const ms = Date.parse(`${day}T00:00:00Z`);
  if (!DAY.test(day) || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day)
    throw new RangeError(`'${day}' is not a day as YYYY-MM-DD`);
  return ms;
}

/** Throws a RangeError unless `day` is a day (YYYY-MM-DD) for which the simulated meters hold data. */
export function checkDay(day: string): void {
  dayIndex(day);
}

/** Days since FIRST_DAY; the meters hold no data from before it. */
function dayIndex(day: string): number {
  const index = (dayStartMs(day) - EPOCH_MS) / DAY_MS;
  if (index < 0) throw new RangeError(`the simulated meters hold no data before ${FIRST_DAY} (asked ${day})`);
  return index;
}

const instant = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** A 32-bit hash of numbers (murmur3's finaliser over each): the same inputs, the same value. */
function mix(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const value of values) {
    h = Math.imul(h ^ (value >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A uniform number in [0, 1) fixed by its inputs: random access, no sequence to replay. */
const uniform = (...values: number[]) => mix(...values) / 2 ** 32;

function hashName(name: string): number {
  return createHash('sha256').update(name).digest().readUInt32BE(0);
}

/** mulberry32: a small seeded generator for the draws within one meter-day. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const bell = (x: number, centre: number, width: number) => Math.exp(-((x - centre) ** 2) / (2 * width ** 2));

// Salts that keep each kind of draw independent of the others.
const Salt = { Profile: 1, Noise: 2, Day: 3, Outage: 4, Tamper: 5, ReverseFlow: 6 } as const;

/** Weekday shares of the mean daily use (Monday first): weekends higher; they add up to zero. */
const WEEK_SHAPE = [-0.04, -0.04, -0.04, -0.04, -0.04, 0.1, 0.1];
/** FIRST_DAY (2020-01-01) was a Wednesday. */
const FIRST_WEEKDAY = 2;

/**
 * One meter's consumption, seeded by its endpoint name. The register at the start of day d is a
 * closed form, base + mean·d + S(d), with S bounded (noise, season, week): each day's total is
 * R(d+1) − R(d), so any day's register and total come without adding up the days before it, and the
 * register at the end of one day is the register at the start of the next.
 */
export class MeterProfile {
  private readonly seed: number;
  /** Wh on the register on FIRST_DAY. */
  private readonly baseWh: number;
  /** Mean daily use, Wh. */
  private readonly meanWh: number;
  private readonly shape: {
    base: number;
    morning: number;
    morningAt: number;
    midday: number;
    evening: number;
    eveningAt: number;
  };

  constructor(readonly endpointName: string) {
    this.seed = hashName(endpointName);
    const draw = (n: number) => uniform(this.seed, Salt.Profile, n);
    this.baseWh = Math.round(500_000 + draw(1) * 19_500_000);
    this.meanWh = 3_000 + draw(2) * 9_000;
    this.shape = {
      base: 0.25 + draw(3) * 0.2,
      morning: 0.8 + draw(4) * 0.8,
      morningAt: 6.5 + draw(5) * 2,
      midday: 0.2 + draw(6) * 0.4,
      evening: 1.4 + draw(7) * 1.2,
      eveningAt: 17.5 + draw(8) * 2.5,
    };
  }

  /** The import register, Wh, at 00:00Z of a day. */
  registerAt(day: string): number {
    return this.register(dayIndex(day));
  }

  private register(d: number): number {
    const noise = 0.35 * this.meanWh * uniform(this.seed, Salt.Noise, d);
    // Its daily difference is about 0.25·mean·cos(season), highest in mid-January.
    const season = ((0.25 * this.meanWh * 365) / (2 * Math.PI)) * Math.sin((2 * Math.PI * (d - 14)) / 365);
    let week = 0;
    for (let k = 0; k < d % 7; k++) week += WEEK_SHAPE[(FIRST_WEEKDAY + k) % 7]!;
    return Math.round(this.baseWh + this.meanWh * d + noise + season + week * this.meanWh);
  }

  /** One day: the register snapshot at 00:00Z, 48 half-hour intervals that add up to the day's use, events. */
  day(day: string): MeterDay {
    const d = dayIndex(day);
    const startMs = dayStartMs(day);
    const atStart = this.register(d);
    const total = this.register(d + 1) - atStart;
    const random = generator(mix(this.seed, Salt.Day, d));
    const weekend = (FIRST_WEEKDAY + d) % 7 >= 5;
    const { base, morning, morningAt, midday, evening, eveningAt } = this.shape;

    const weights = Array.from({ length: INTERVALS_PER_DAY }, (_, i) => {
      const hour = (i + 0.5) / 2;
      const load =
        base +
        morning * bell(hour, morningAt + (weekend ? 1.5 : 0), 1) +
        (weekend ? midday * 1.8 : midday) * bell(hour, 13, 2.5) +
        evening * bell(hour, eveningAt, 1.6);
      // Appliances switching on and off; now and then a kettle, an oven, a washing machine.
      const spike = random() < 0.06 ? 0.3 + random() * 0.6 : 0;
      return load * (0.8 + random() * 0.4) + spike;
    });

    const events: DayEvent[] = [];
    const flagged = new Set<number>();
    if (uniform(this.seed, Salt.Outage, d) < OUTAGE_CHANCE) {
      const outage = generator(mix(this.seed, Salt.Outage, d));
      const from = Math.floor(outage() * (86_400 - 60));
      // Mostly a minute or two, sometimes over an hour; always back the same day.
      const to = Math.min(86_399, from + 30 + Math.floor(outage() ** 3 * 90 * 60));
      for (let i = Math.floor(from / INTERVAL_S); i * INTERVAL_S < to; i++) {
        const overlap = Math.min(to, (i + 1) * INTERVAL_S) - Math.max(from, i * INTERVAL_S);
        weights[i] = weights[i]! * (1 - overlap / INTERVAL_S);
        flagged.add(i);
      }
      const minutes = Math.max(1, Math.round((to - from) / 60));
      events.push(
        this.event(startMs, from, 'POWER_OUTAGE', 'warning', `supply lost on all phases`),
        this.event(startMs, to, 'POWER_RESTORED', 'info', `supply back after ${minutes} min`),
      );
    }
    if (uniform(this.seed, Salt.Tamper, d) < TAMPER_CHANCE) {
      const at = Math.floor(uniform(this.seed, Salt.Tamper, d, 1) * 86_400);
      events.push(this.event(startMs, at, 'TAMPER', 'alarm', 'tamper switch triggered'));
    }
    if (uniform(this.seed, Salt.ReverseFlow, d) < REVERSE_FLOW_CHANCE) {
      const at = Math.floor(uniform(this.seed, Salt.ReverseFlow, d, 1) * 86_400);
      events.push(this.event(startMs, at, 'REVERSE_FLOW', 'warning', 'energy flowing to the grid on L1'));
    }
    events.sort((a, b) => a.event.occurredAt.localeCompare(b.event.occurredAt));

    const values = shareOut(total, weights);
    const readings: MeterReading[] = [
      {
        obis: REGISTER_OBIS,
        intervalStart: instant(startMs),
        intervalMinutes: 0,
        value: atStart,
        scaler: 0,
        unit: 'Wh',
      },
      ...values.map((value, i): MeterReading => ({
        obis: INTERVAL_OBIS,
        intervalStart: instant(startMs + i * INTERVAL_S * 1000),
        intervalMinutes: INTERVAL_MINUTES_USED,
        value,
        scaler: 0,
        unit: 'Wh',
        ...(flagged.has(i) && { quality: ['power-failure' as const] }),
      })),
    ];
    return { endpointName: this.endpointName, day, readings, events };
  }

  private event(
    dayStartMs: number,
    second: number,
    code: MeterEvent['code'],
    severity: MeterEvent['severity'],
    detail: string,
  ): DayEvent {
    return {
      event: { code, occurredAt: instant(dayStartMs + second * 1000), severity, detail },
      readingIndex: 1 + Math.floor(second / INTERVAL_S),
    };
  }
}

/** Integers proportional to weights that add up to total exactly (largest remainder). */
function shareOut(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (sum > 0 ? (total * w) / sum : total / weights.length));
  const values = exact.map(Math.floor);
  let left = total - values.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of byRemainder) {
    if (left-- <= 0) break;
    values[i]! += 1;
  }
  return values;
}

/**
 * A meter's days from a first day on, made one at a time as they are asked for. With `until`, only
 * what the meter has measured by then: intervals that have ended, and their events.
 */
export function* meterDays(
  profile: MeterProfile,
  from: string,
  days: number,
  { until }: { until?: Date } = {},
): Generator<MeterDay> {
  for (let n = 0; n < days; n++) {
    const day = profile.day(addDays(from, n));
    const kept = until === undefined ? day.readings.length : measuredBy(day.day, until);
    if (kept === 0) return;
    if (kept === day.readings.length) yield day;
    else
      yield {
        ...day,
        readings: day.readings.slice(0, kept),
        events: day.events.filter((e) => e.readingIndex < kept),
      };
  }
}

/** How many of a day's readings (snapshot, then intervals) a meter holds at an instant. */
function measuredBy(day: string, until: Date): number {
  const elapsedS = (until.getTime() - dayStartMs(day)) / 1000;
  if (elapsedS < 0) return 0;
  return 1 + Math.min(INTERVALS_PER_DAY, Math.floor(elapsedS / INTERVAL_S));
}

/** How many readings meterDays gives for these days: a fleet's total is this times its meters. */
export function readingsIn(from: string, days: number, { until }: { until?: Date } = {}): number {
  let count = 0;
  for (let n = 0; n < days; n++)
    count += until === undefined ? 1 + INTERVALS_PER_DAY : measuredBy(addDays(from, n), until);
  return count;
}

/** A telemetry batch as the meter makes it: its readings and events typed. */
export type GeneratedBatch = TelemetryBatch & { readings: MeterReading[]; events: MeterEvent[] };

/**
 * Cuts days into batches of batchSize readings (the last one shorter), each day's events going with
 * the interval they fell in. A batch id names its content, `${endpoint}:${first day}:${offset in that
 * day}:${readings}`, so a resend (or a rerun over the same days and batch size) is recognised as a
 * replay, and a batch with other content never reuses an id. At most 4 events a day and 21 days a
 * batch keep the events far below TELEMETRY_MAX_EVENTS.
 */
export function* telemetryBatches(days: Iterable<MeterDay>, batchSize: number): Generator<GeneratedBatch> {
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > TELEMETRY_MAX_READINGS)
    throw new RangeError(`a batch holds 1 to ${TELEMETRY_MAX_READINGS} readings (asked ${batchSize})`);
  let open: OpenBatch | undefined;
  for (const day of days) {
    for (let offset = 0; offset < day.readings.length;) {
      open ??= { endpointName: day.endpointName, day: day.day, offset, readings: [], events: [] };
      const take = Math.min(batchSize - open.readings.length, day.readings.length - offset);
      open.readings.push(...day.readings.slice(offset, offset + take));
      for (const { event, readingIndex } of day.events)
        if (readingIndex >= offset && readingIndex < offset + take) open.events.push(event);
      offset += take;
      if (open.readings.length === batchSize) {
        yield closed(open);
        open = undefined;
      }
    }
  }
  if (open) yield closed(open);
}

interface OpenBatch extends Omit<GeneratedBatch, 'batchId'> {
  endpointName: string;
  /** Where its first reading comes from. */
  day: string;
  offset: number;
}

function closed({ endpointName, day, offset, readings, events }: OpenBatch): GeneratedBatch {
  return { batchId: batchId(endpointName, day, offset, readings.length), readings, events };
}

function batchId(endpointName: string, day: string, offset: number, count: number): string {
  const id = `${endpointName}:${day}:${offset}:${count}`;
  if (id.length <= 128) return id;
  // An endpoint name too long for the id: its hash names the meter instead (the connection does too).
  return `${createHash('sha256').update(endpointName).digest('hex').slice(0, 32)}:${day}:${offset}:${count}`;
}
