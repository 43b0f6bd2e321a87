import {
  type MeterEvent,
  type MeterReading,
  type RejectedItem,
  type TelemetryItemRefusalCode,
  checkMeterEvent,
  checkMeterReading,
} from '@meterkeep/contracts';

export interface ReadingRules {
  now: Date;
  /** How far past `now` a reading's interval may end (meter clocks drift). */
  maxClockSkewMs: number;
  /** Oldest reading accepted: the de-duplication window, so every replay is recognised. */
  maxAgeMs: number;
}

/** An accepted item: its place in the batch, what it is, and its identity for de-duplication. */
export interface CheckedItem<T> {
  section: 'readings' | 'events';
  index: number;
  item: T;
  /** When it happened: picks the data key (occupancy) and the de-duplication day. */
  at: number;
  /** Same reading, same identity: `obis|start|minutes` or `E|code|at`. */
  identity: string;
}

/** A refused reading or event, with one of the contract's codes. */
export type ItemRefusal = RejectedItem & { code: TelemetryItemRefusalCode };

export interface CheckedBatch {
  readings: CheckedItem<MeterReading>[];
  events: CheckedItem<MeterEvent>[];
  rejected: ItemRefusal[];
}

const FIELD_CODES: Record<string, TelemetryItemRefusalCode> = {
  obis: 'OBIS_INVALID',
  intervalStart: 'TIME_INVALID',
  occurredAt: 'TIME_INVALID',
  intervalMinutes: 'INTERVAL_INVALID',
  value: 'VALUE_INVALID',
  scaler: 'SCALER_INVALID',
  unit: 'UNIT_INVALID',
  quality: 'QUALITY_INVALID',
  code: 'EVENT_CODE_INVALID',
  severity: 'SEVERITY_INVALID',
  detail: 'DETAIL_INVALID',
};

function schemaRefusal(
  section: CheckedItem<unknown>['section'],
  index: number,
  refusal: { field?: string; message: string },
): ItemRefusal {
  const fallback = section === 'readings' ? 'READING_INVALID' : 'EVENT_INVALID';
  const code = (refusal.field && FIELD_CODES[refusal.field]) || fallback;
  return { section, index, code, reason: `${refusal.field ?? '(item)'}: ${refusal.message}`.slice(0, 512) };
}

function timeRefusal(
  rules: ReadingRules,
  start: number,
  end: number,
): Pick<ItemRefusal, 'code' | 'reason'> | undefined {
  if (end > rules.now.getTime() + rules.maxClockSkewMs)
    return {
      code: 'TIME_IN_FUTURE',
      reason: 'the reading ends after the server time (beyond the allowed clock skew)',
    };
  if (start < rules.now.getTime() - rules.maxAgeMs)
    return { code: 'TIME_TOO_OLD', reason: 'the reading is older than the de-duplication window' };
  return undefined;
}

/**
 * Checks each reading and event on its own: schema, alignment of intervals on their period, time
 * window, repeats inside the batch. What fails is reported by section and index; the rest goes on.
 */
export function checkBatchItems(
  readings: readonly unknown[],
  events: readonly unknown[],
  rules: ReadingRules,
): CheckedBatch {
  const result: CheckedBatch = { readings: [], events: [], rejected: [] };
  const seen = new Set<string>();

  readings.forEach((raw, index) => {
    const checked = checkMeterReading(raw);
    if (!checked.ok) return result.rejected.push(schemaRefusal('readings', index, checked));
    const reading = checked.value;
    const start = Date.parse(reading.intervalStart);
    const periodMs = reading.intervalMinutes * 60_000;
    if (periodMs > 0 && start % periodMs !== 0)
      return result.rejected.push({
        section: 'readings',
        index,
        code: 'INTERVAL_MISALIGNED',
        reason: `intervalStart must fall on a ${reading.intervalMinutes}-minute boundary (UTC)`,
      });
    const time = timeRefusal(rules, start, start + periodMs);
    if (time) return result.rejected.push({ section: 'readings', index, ...time });
    const identity = `${reading.obis}|${start}|${reading.intervalMinutes}`;
    if (seen.has(identity))
      return result.rejected.push({
        section: 'readings',
        index,
        code: 'DUPLICATE_IN_BATCH',
        reason: 'the same OBIS code and interval appear earlier in this batch',
      });
    seen.add(identity);
    result.readings.push({ section: 'readings', index, item: reading, at: start, identity });
  });

  events.forEach((raw, index) => {
    const checked = checkMeterEvent(raw);
    if (!checked.ok) return result.rejected.push(schemaRefusal('events', index, checked));
    const event = checked.value;
    const at = Date.parse(event.occurredAt);
    const time = timeRefusal(rules, at, at);
    if (time) return result.rejected.push({ section: 'events', index, ...time });
    const identity = `E|${event.code}|${at}`;
    if (seen.has(identity))
      return result.rejected.push({
        section: 'events',
        index,
        code: 'DUPLICATE_IN_BATCH',
        reason: 'the same event code and time appear earlier in this batch',
      });
    seen.add(identity);
    result.events.push({ section: 'events', index, item: event, at, identity });
  });
  return result;
}
