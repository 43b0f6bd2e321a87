import { z } from 'zod';
import { endpointName } from '../events/common';
import { type RefusalStatus, refusalResponses } from './device-refusal';
import { defineHttpRoute } from './http-route';

/**
 * The telemetry ingest's device API (POST /tl/v1/batches over mutual TLS), shared by the service and
 * by meter-sim. The batch envelope is checked whole; each reading and event is checked on its own, so
 * one bad reading is reported by index and the rest are kept.
 */

/** Most readings and events one batch may carry; a larger batch is refused whole (413). */
export const TELEMETRY_MAX_READINGS = 1_000;
export const TELEMETRY_MAX_EVENTS = 200;
/** Largest request body accepted, in bytes. */
export const TELEMETRY_MAX_BODY_BYTES = 512 * 1024;

/** OBIS code A-B:C.D.E*F, each group 0-255 (IEC 62056-61), e.g. 1-0:1.8.0*255. */
export const OBIS_CODE = /^(\d{1,3})-(\d{1,3}):(\d{1,3})\.(\d{1,3})\.(\d{1,3})\*(\d{1,3})$/;
export const obisCode = z
  .string()
  .max(32)
  .refine(
    (code) =>
      OBIS_CODE.exec(code)
        ?.slice(1)
        .every((group) => Number(group) <= 255) === true,
    'an OBIS code A-B:C.D.E*F with each group 0-255, such as 1-0:1.8.0*255',
  );

/** Units of measure as DLMS/COSEM names them (a subset of the unit enumeration). */
export const readingUnit = z.enum([
  'Wh',
  'kWh',
  'varh',
  'kvarh',
  'W',
  'kW',
  'var',
  'kvar',
  'V',
  'A',
  'Hz',
  'm3',
  'degC',
]);
export const qualityFlag = z.enum([
  'estimated',
  'power-failure',
  'clock-adjusted',
  'overflow',
  'data-not-valid',
  'tampered',
]);
/** Capture periods a reading may cover; 0 is a register snapshot at intervalStart. */
export const INTERVAL_MINUTES = [0, 1, 5, 10, 15, 30, 60, 1_440] as const;

const utcInstant = z.iso.datetime({ offset: false, error: 'a UTC instant such as 2026-11-26T08:30:00Z' });

/**
 * One reading: register snapshot (intervalMinutes 0) or one interval of a load profile. The value is
 * an integer register value; the quantity is value × 10^scaler in unit, as DLMS registers carry it.
 */
export const meterReading = z.strictObject({
  obis: obisCode,
  intervalStart: utcInstant,
  intervalMinutes: z
    .number()
    .int()
    .refine(
      (m) => (INTERVAL_MINUTES as readonly number[]).includes(m),
      `one of ${INTERVAL_MINUTES.join(', ')}`,
    ),
  value: z.number().int().refine(Number.isSafeInteger, 'a safe integer'),
  scaler: z.number().int().min(-9).max(9),
  unit: readingUnit,
  quality: z.array(qualityFlag).max(6).optional(),
});
export type MeterReading = z.infer<typeof meterReading>;

export const meterEventCode = z.enum([
  'TAMPER',
  'COVER_OPENED',
  'MAGNETIC_FIELD',
  'POWER_OUTAGE',
  'POWER_RESTORED',
  'REVERSE_FLOW',
  'CLOCK_ADJUSTED',
]);
/** A meter event or alarm (tamper, power outage, reverse flow). */
export const meterEvent = z.strictObject({
  code: meterEventCode,
  occurredAt: utcInstant,
  severity: z.enum(['info', 'warning', 'alarm']),
  detail: z.string().max(256).optional(),
});
export type MeterEvent = z.infer<typeof meterEvent>;

/** The batch envelope; its items are checked one by one with meterReading and meterEvent. */
export const telemetryBatch = z
  .strictObject({
    /** Chosen by the sender, unique per meter: a batch sent again with the same id is a replay. */
    batchId: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, '1-128 of A-Z a-z 0-9 . _ : -'),
    /** The meter the readings belong to; the sender's own when absent (gateways must name it). */
    meterId: endpointName.optional(),
    readings: z.array(z.unknown()).max(TELEMETRY_MAX_READINGS).default([]),
    events: z.array(z.unknown()).max(TELEMETRY_MAX_EVENTS).default([]),
  })
  .refine(
    (batch) => batch.readings.length + batch.events.length > 0,
    'a batch carries at least one reading or event',
  );
export type TelemetryBatch = z.input<typeof telemetryBatch>;
/** A batch envelope as the ingest parsed it (readings and events present, still unchecked). */
export type TelemetryBatchEnvelope = z.output<typeof telemetryBatch>;

/**
 * Why one reading or event of a batch was refused (the batch itself is accepted): `rejected[].code`
 * in the answer. The schema keeps `code` a string so a meter reads codes a newer server adds.
 */
export const TELEMETRY_ITEM_REFUSALS = [
  'OBIS_INVALID',
  'TIME_INVALID',
  'INTERVAL_INVALID',
  'VALUE_INVALID',
  'SCALER_INVALID',
  'UNIT_INVALID',
  'QUALITY_INVALID',
  'EVENT_CODE_INVALID',
  'SEVERITY_INVALID',
  'DETAIL_INVALID',
  'READING_INVALID',
  'EVENT_INVALID',
  'INTERVAL_MISALIGNED',
  'TIME_IN_FUTURE',
  'TIME_TOO_OLD',
  'DUPLICATE_IN_BATCH',
  'OCCUPANCY_ERASED',
  /** The meter already reports as many distinct OBIS codes as the ingest keeps per meter. */
  'OBIS_LIMIT_REACHED',
] as const;
export type TelemetryItemRefusalCode = (typeof TELEMETRY_ITEM_REFUSALS)[number];

/**
 * Every refusal of a whole batch, with its status: `{ code, message }` (see deviceRefusal). 401 and
 * 403 mean the meter's credential is refused (it bootstraps again); 503 carries Retry-After and the
 * meter sends the same batch again.
 */
export const TELEMETRY_BATCH_REFUSALS = {
  MALFORMED_JSON: 400,
  BATCH_INVALID: 400,
  CLIENT_CERTIFICATE_REQUIRED: 401,
  CERTIFICATE_UNTRUSTED: 401,
  CERTIFICATE_EXPIRED: 401,
  CERTIFICATE_REVOKED: 401,
  METER_NOT_ACTIVE: 403,
  NOT_YOUR_METER: 403,
  BATCH_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_YET_KNOWN: 503,
  INGEST_SATURATED: 503,
  METER_BUSY: 503,
  DEDUPE_UNAVAILABLE: 503,
  KAFKA_UNAVAILABLE: 503,
  KEY_VAULT_UNAVAILABLE: 503,
} as const satisfies Record<string, RefusalStatus>;
export type TelemetryBatchRefusalCode = keyof typeof TELEMETRY_BATCH_REFUSALS;

export const rejectedItem = z.object({
  section: z.enum(['readings', 'events']),
  index: z.number().int().nonnegative(),
  code: z.string(),
  reason: z.string(),
});
export type RejectedItem = z.infer<typeof rejectedItem>;

/** The answer to a batch: sent only after Kafka acknowledged every accepted item. */
export const telemetryBatchAnswer = z.object({
  batchId: z.string(),
  meterId: endpointName,
  /** Items written (this time or, for a replay, the first time). */
  accepted: z.number().int().nonnegative(),
  /** Items already received in an earlier batch: acknowledged, not written again. */
  duplicates: z.number().int().nonnegative(),
  rejected: z.array(rejectedItem),
  /** True when the whole batch had been received before: the first answer is repeated. */
  replayed: z.boolean(),
});
export type TelemetryBatchAnswer = z.infer<typeof telemetryBatchAnswer>;

export const TELEMETRY_BATCH_POST = defineHttpRoute({
  name: 'telemetry-ingest.batches.post',
  audience: 'device',
  method: 'POST',
  path: '/tl/v1/batches',
  summary: 'A batch of readings and events from a meter, or a gateway for its meters',
  description:
    'Mutual TLS with the operational certificate. Each item is checked on its own with meterReading ' +
    'and meterEvent; refused items are listed in the answer. Answered after Kafka acknowledged it.',
  request: telemetryBatch,
  responses: {
    200: telemetryBatchAnswer,
    ...refusalResponses(
      TELEMETRY_BATCH_REFUSALS,
      Object.keys(TELEMETRY_BATCH_REFUSALS) as TelemetryBatchRefusalCode[],
    ),
  },
  examples: [
    {
      title: 'two readings, one refused',
      request: {
        batchId: 'MTR-000001:2026-11-26:1',
        readings: [
          {
            obis: '1-0:1.8.0*255',
            intervalStart: '2026-11-26T08:30:00Z',
            intervalMinutes: 15,
            value: 1234,
            scaler: 0,
            unit: 'Wh',
          },
          { obis: '1-0:1.8.0', intervalStart: '2026-11-26T08:45:00Z', intervalMinutes: 15, value: 5 },
        ],
      },
      status: 200,
      response: {
        batchId: 'MTR-000001:2026-11-26:1',
        meterId: 'MTR-000001',
        accepted: 1,
        duplicates: 0,
        rejected: [{ section: 'readings', index: 1, code: 'OBIS_INVALID', reason: 'obis: an OBIS code' }],
        replayed: false,
      },
    },
    {
      title: 'a suspended meter',
      request: {
        batchId: 'b-2',
        events: [{ code: 'TAMPER', occurredAt: '2026-11-26T08:31:00Z', severity: 'alarm' }],
      },
      status: 403,
      response: { code: 'METER_NOT_ACTIVE', message: 'The sender is not an active meter' },
    },
    {
      title: 'an ingest at capacity (Retry-After)',
      request: {
        batchId: 'b-3',
        events: [{ code: 'TAMPER', occurredAt: '2026-11-26T08:31:00Z', severity: 'alarm' }],
      },
      status: 503,
      response: { code: 'INGEST_SATURATED', message: 'The ingest is at capacity; retry later' },
    },
  ],
});

/** What a telemetry.readings.v1 ciphertext holds once opened with its data key. */
export const sealedReadings = z.object({
  batchId: z.string(),
  readings: z.array(meterReading),
  events: z.array(meterEvent),
});
export type SealedReadings = z.infer<typeof sealedReadings>;
