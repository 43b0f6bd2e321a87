import { z } from 'zod';
import type { MeterEvent, MeterReading } from '@meterkeep/contracts';
import { INTERVAL_OBIS, type MeterProfile, REGISTER_OBIS, addDays } from '../telemetry/interval-data';
import type { MeterStorage } from './meter-storage';

/**
 * Change of tenancy on the meter, as a GB prepayment meter does it [spec §4.3, P22]: a billing
 * snapshot of the registers before, the stored load profile and event log cleared, a snapshot after;
 * from then on the meter's display and local (HAN) interface show nothing from before the change, so
 * the next occupant cannot read the last one's consumption off the meter.
 *
 * The sim makes its data on demand from the meter's profile; what "stored" means is the window its
 * local interface answers from: [historyFrom, now), at most LOAD_PROFILE_DAYS back (the 13 months of
 * half-hourly profile a GB meter keeps). Clearing moves historyFrom, kept in non-volatile memory.
 */

export const TENANCY_FILE = 'tenancy.json';
export const LOAD_PROFILE_DAYS = 396;
const DAY_MS = 86_400_000;

const snapshotSchema = z.strictObject({
  takenAt: z.iso.datetime(),
  /** The import register (Wh) as of the last half-hour the meter finished measuring. */
  importRegisterWh: z.number().int(),
  registerAsOf: z.iso.datetime(),
  /** What the local interface held: its earliest instant, load-profile intervals, log entries. */
  historyFrom: z.iso.datetime(),
  loadProfileIntervals: z.number().int().min(0),
  eventLogEntries: z.number().int().min(0),
});
export type RegisterSnapshot = z.infer<typeof snapshotSchema>;

const changeSchema = z.strictObject({ at: z.iso.datetime(), before: snapshotSchema, after: snapshotSchema });
export type ChangeOfTenancy = z.infer<typeof changeSchema>;

const tenancySchema = z.strictObject({
  /** Nothing earlier is shown; absent until the first change of tenancy. */
  historyFrom: z.iso.datetime().optional(),
  changes: z.array(changeSchema),
});
type TenancyState = z.infer<typeof tenancySchema>;

export interface LocalHistory {
  from: Date;
  /** Half-hour intervals ended by `now`, in time order. */
  loadProfile: MeterReading[];
  events: MeterEvent[];
}

export class ChangeOfTenancyError extends Error {}

/** What the meter's display and local interface answer from, for the occupant in residence. */
export class OnMeterRecords {
  constructor(
    private readonly profile: MeterProfile,
    private readonly storage: MeterStorage,
  ) {}

  private state(): TenancyState {
    const text = this.storage.read(TENANCY_FILE);
    return text ? tenancySchema.parse(JSON.parse(text)) : { changes: [] };
  }

  changes(): ChangeOfTenancy[] {
    return this.state().changes;
  }

  /** The stored history at `now`: from the last change of tenancy (or the profile's depth) on. */
  history(now: Date, cleared = this.state().historyFrom): LocalHistory {
    const depth = now.getTime() - LOAD_PROFILE_DAYS * DAY_MS;
    const from = new Date(Math.max(depth, cleared === undefined ? depth : Date.parse(cleared)));
    const loadProfile: MeterReading[] = [];
    const events: MeterEvent[] = [];
    const inside = (start: number, end: number) => start >= from.getTime() && end <= now.getTime();
    for (
      let day = utcDay(from.getTime());
      Date.parse(`${day}T00:00:00Z`) < now.getTime();
      day = addDays(day, 1)
    ) {
      const data = this.profile.day(day);
      for (const reading of data.readings) {
        if (reading.obis !== INTERVAL_OBIS) continue;
        const start = Date.parse(reading.intervalStart);
        if (inside(start, start + reading.intervalMinutes * 60_000)) loadProfile.push(reading);
      }
      for (const { event } of data.events) {
        const at = Date.parse(event.occurredAt);
        if (inside(at, at)) events.push(event);
      }
    }
    return { from, loadProfile, events };
  }

  /** The import register as of the last half-hour ended by `at` (a billing snapshot). */
  registerAt(at: Date): { valueWh: number; asOf: Date } {
    const day = this.profile.day(utcDay(at.getTime()));
    let value = 0;
    let asOf = 0;
    for (const reading of day.readings) {
      const start = Date.parse(reading.intervalStart);
      if (reading.obis === REGISTER_OBIS) {
        value = reading.value;
        asOf = start;
      } else if (start + reading.intervalMinutes * 60_000 <= at.getTime()) {
        value += reading.value;
        asOf = start + reading.intervalMinutes * 60_000;
      }
    }
    return { valueWh: value, asOf: new Date(asOf) };
  }

  snapshot(at: Date, cleared = this.state().historyFrom): RegisterSnapshot {
    const register = this.registerAt(at);
    const history = this.history(at, cleared);
    return {
      takenAt: at.toISOString(),
      importRegisterWh: register.valueWh,
      registerAsOf: register.asOf.toISOString(),
      historyFrom: history.from.toISOString(),
      loadProfileIntervals: history.loadProfile.length,
      eventLogEntries: history.events.length,
    };
  }

  /**
   * Snapshot, clear, snapshot, in one write (temp, rename): a meter restarted mid-command has either
   * done all of it or none. `at` may be in the past (the occupant left without notice: what the meter
   * measured since belongs to the next occupant and stays), never in the future (the head end sends
   * the command on the day) nor before the last change.
   */
  changeOfTenancy(at: Date, now = new Date()): ChangeOfTenancy {
    if (Number.isNaN(at.getTime())) throw new ChangeOfTenancyError('the change needs a valid instant');
    if (at.getTime() > now.getTime())
      throw new ChangeOfTenancyError('a meter cannot change tenancy in the future: send it on the day');
    const state = this.state();
    if (state.historyFrom !== undefined && at.getTime() < Date.parse(state.historyFrom))
      throw new ChangeOfTenancyError(`the last change of tenancy was at ${state.historyFrom}`);
    const change: ChangeOfTenancy = {
      at: at.toISOString(),
      before: this.snapshot(at, state.historyFrom),
      after: this.snapshot(at, at.toISOString()),
    };
    const next: TenancyState = { historyFrom: at.toISOString(), changes: [...state.changes, change] };
    this.storage.write(TENANCY_FILE, JSON.stringify(tenancySchema.parse(next)));
    return change;
  }
}

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
