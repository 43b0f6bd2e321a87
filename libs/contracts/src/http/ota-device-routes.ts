import { z } from 'zod';
import { sha256Hex } from '../events/common';
import { OTA_EXECUTION_STATES } from '../events/ota-device-status-v2.event';
import { otaComponentId, otaFailureCode } from '../events/ota-firmware-common';
import { type RefusalStatus, refusalResponses } from './device-refusal';
import { defineHttpRoute } from './http-route';

/**
 * The OTA distributor's device API (spec §6.2), over mutual TLS with the meter's operational
 * certificate (CN = endpoint name), ACTIVE meters only. Shared by the service and by meter-sim.
 * Firmware bytes never pass through the distributor: a meter gets a presigned URL for one object.
 * Signed objects (directive, receipt) travel as `{ directive | receipt, signature }` JSON whose
 * signature covers the RFC 8785 bytes of the inner object, so re-serialising the JSON keeps it valid.
 */

/** Largest request body on a device route: a status or a signed receipt is well under 1 KiB. */
export const OTA_DEVICE_MAX_BODY_BYTES = 8 * 1024;
/** Status reports accepted per execution; more answer 429 (hawkBit's 1,000 cap was exhausted by Range clients). */
export const OTA_MAX_STATUS_REPORTS = 50;
/** Presigned download URLs live this long by default (AWS allows 60–3,600 s). */
export const OTA_DOWNLOAD_URL_TTL_SECONDS = 300;
/** A new download URL for the same execution at most this often. */
export const OTA_DOWNLOAD_URL_REISSUE_SECONDS = 30;

const executionId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'execution id')
  .describe('Execution id, as the directive names it');

/** Refusals common to every device route (authentication and load), with their status. */
const DEVICE_AUTH_REFUSALS = {
  CLIENT_CERTIFICATE_REQUIRED: 401,
  CERTIFICATE_UNTRUSTED: 401,
  CERTIFICATE_EXPIRED: 401,
  CERTIFICATE_REVOKED: 401,
  METER_NOT_ACTIVE: 403,
  NOT_YET_KNOWN: 503,
  DISTRIBUTOR_SATURATED: 503,
} as const satisfies Record<string, RefusalStatus>;

/** Every refusal the OTA device API answers, with its status. 429 and 503 carry Retry-After. */
export const OTA_DEVICE_REFUSALS = {
  ...DEVICE_AUTH_REFUSALS,
  INVALID_REQUEST: 400,
  MALFORMED_JSON: 400,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** No active execution of this meter has that id (another meter's or tenant's is the same 404). */
  EXECUTION_NOT_FOUND: 404,
  /** The execution is over (terminal): it takes no status, URL or receipt any more. */
  EXECUTION_CLOSED: 409,
  NOT_ELIGIBLE_FOR_DELTA: 409,
  /** The component is not in the execution's manifest. */
  COMPONENT_NOT_IN_MANIFEST: 409,
  /** A different report was already accepted under this (attempt, seq). */
  STATUS_CONFLICT: 409,
  STATUS_TRANSITION_INVALID: 409,
  RECEIPT_MALFORMED: 422,
  RECEIPT_SIGNATURE_INVALID: 422,
  RECEIPT_DEVICE_MISMATCH: 422,
  RECEIPT_EXECUTION_MISMATCH: 422,
  RECEIPT_NONCE_MISMATCH: 422,
  /** The receipt's booted images are not the manifest's. */
  RECEIPT_IMAGE_MISMATCH: 422,
  STATUS_LIMIT_REACHED: 429,
  DOWNLOAD_URL_RATE_LIMITED: 429,
} as const satisfies Record<string, RefusalStatus>;
export type OtaDeviceRefusalCode = keyof typeof OTA_DEVICE_REFUSALS;

const authCodes = Object.keys(DEVICE_AUTH_REFUSALS) as (keyof typeof DEVICE_AUTH_REFUSALS)[];

// Check-in.

export const otaCheckInQuery = z.strictObject({
  installed: z
    .union([sha256Hex, z.literal('none')])
    .describe('Digest of the manifest the meter runs, or "none"'),
  seq: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/, 'a sequence number')
    .refine((s) => Number.isSafeInteger(Number(s)), 'a safe integer')
    .describe('Sequence number of the manifest the meter runs (0 before the first)'),
  slot: z.enum(['A', 'B']).describe('The slot the meter booted from'),
  hardwareRevision: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'hardware revision')
    .optional()
    .describe("The meter's hardware revision (a campaign stratum); older meters omit it"),
});
export type OtaCheckInQuery = z.infer<typeof otaCheckInQuery>;

/** `{ directive, signature }` as the distributor signed it (verified by the meter, opaque here). */
export const signedDirective = z
  .object({ directive: z.record(z.string(), z.unknown()), signature: z.string() })
  .describe('The directive (spec §5.2) and its base64url DER ES256 signature over the JCS bytes');

export const otaCheckInAnswer = z.object({
  /** Server-directed, ±10% jitter, shorter before a maintenance window. Also Cache-Control max-age. */
  pollAfterSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600),
  /** Authenticated server time (the meter's trusted clock anchor). */
  serverTime: z.iso.datetime(),
  /** Present when the meter has an active execution. */
  directive: signedDirective.optional(),
});
export type OtaCheckInAnswer = z.infer<typeof otaCheckInAnswer>;

const digestExample = '5f2b1c7e0d9a8b6c4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d';

export const OTA_CHECK_IN = defineHttpRoute({
  name: 'ota-distributor.device.check-in',
  audience: 'device',
  method: 'GET',
  path: '/ota/v1/check-in',
  summary: 'A meter asks whether there is an update for it',
  description:
    'ETag over the directive state: with a matching If-None-Match the answer is 304 and no body; ' +
    'every answer carries Cache-Control: private, max-age=<pollAfterSeconds>.',
  query: otaCheckInQuery,
  responses: {
    200: otaCheckInAnswer,
    ...refusalResponses(OTA_DEVICE_REFUSALS, [...authCodes, 'INVALID_REQUEST']),
  },
  examples: [
    {
      title: 'nothing to do',
      query: { installed: digestExample, seq: '43', slot: 'A' },
      status: 200,
      response: { pollAfterSeconds: 3_312, serverTime: '2026-12-02T10:00:00.000Z' },
    },
  ],
});

// Manifest.

export const OTA_EXECUTION_MANIFEST = defineHttpRoute({
  name: 'ota-distributor.device.manifest',
  audience: 'device',
  method: 'GET',
  path: '/ota/v1/executions/:executionId/manifest',
  summary: "The exact signed manifest envelope of one of the meter's active executions",
  description: 'The bytes the update authority signed offline (application/json).',
  params: { executionId },
  responses: {
    200: z.record(z.string(), z.unknown()).describe('The signed envelope (spec §5.1), exact bytes'),
    ...refusalResponses(OTA_DEVICE_REFUSALS, [...authCodes, 'EXECUTION_NOT_FOUND']),
  },
  examples: [
    {
      title: 'an envelope',
      params: { executionId: 'exe-000001' },
      status: 200,
      response: { manifest: { manifestVersion: 1 }, signatures: [] },
    },
  ],
});

// Download URL.

export const otaDownloadUrlRequest = z.strictObject({
  component: otaComponentId,
  /** Asks for the delta against the meter's installed image; 409 NOT_ELIGIBLE_FOR_DELTA otherwise. */
  delta: z.boolean().default(false),
});
export type OtaDownloadUrlRequest = z.input<typeof otaDownloadUrlRequest>;

export const otaDownloadUrlAnswer = z.object({
  /** A presigned GET for exactly one object; never logged. Range requests go to S3. */
  url: z.url(),
  expiresAt: z.iso.datetime(),
  /** The digest and size of the object the URL names (the manifest is what the meter trusts). */
  sha256: sha256Hex,
  size: z.number().int().positive(),
});
export type OtaDownloadUrlAnswer = z.infer<typeof otaDownloadUrlAnswer>;

export const OTA_DOWNLOAD_URL = defineHttpRoute({
  name: 'ota-distributor.device.download-url',
  audience: 'device',
  method: 'POST',
  path: '/ota/v1/executions/:executionId/download-url',
  summary: "A short-lived presigned URL for one component's image (or its delta)",
  params: { executionId },
  request: otaDownloadUrlRequest,
  responses: {
    200: otaDownloadUrlAnswer,
    ...refusalResponses(OTA_DEVICE_REFUSALS, [
      ...authCodes,
      'INVALID_REQUEST',
      'MALFORMED_JSON',
      'BODY_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'EXECUTION_NOT_FOUND',
      'EXECUTION_CLOSED',
      'NOT_ELIGIBLE_FOR_DELTA',
      'COMPONENT_NOT_IN_MANIFEST',
      'DOWNLOAD_URL_RATE_LIMITED',
    ]),
  },
  examples: [
    {
      title: 'the full image',
      params: { executionId: 'exe-000001' },
      request: { component: 'app', delta: false },
      status: 200,
      response: {
        url: 'https://s3.example/meterkeep-firmware/tenants/utility-north/firmware/classes/em300/images/5f2b…?X-Amz-Signature=…',
        expiresAt: '2026-12-02T10:05:00.000Z',
        sha256: digestExample,
        size: 20_971_520,
      },
    },
  ],
});

// Status.

/** States a meter reports; the distributor alone decides SUCCEEDED (on a receipt), TIMED_OUT, CANCELLED, REMOVED. */
export const OTA_REPORTABLE_STATES = OTA_EXECUTION_STATES.filter(
  (state) => !['QUEUED', 'SUCCEEDED', 'TIMED_OUT', 'CANCELLED', 'REMOVED'].includes(state),
) as Exclude<
  (typeof OTA_EXECUTION_STATES)[number],
  'QUEUED' | 'SUCCEEDED' | 'TIMED_OUT' | 'CANCELLED' | 'REMOVED'
>[];

export const otaStatusReport = z.strictObject({
  state: z.enum(OTA_REPORTABLE_STATES as [string, ...string[]]),
  attempt: z.number().int().min(1).max(1000),
  seq: z.number().int().min(0).max(1_000_000),
  progressPercent: z.number().int().min(0).max(100).optional(),
  failureCode: otaFailureCode.optional(),
  deferUntil: z.iso.datetime().optional(),
});
export type OtaStatusReport = z.infer<typeof otaStatusReport>;

export const otaStatusAnswer = z.object({
  /** The execution's state after this report. */
  state: z.enum(OTA_EXECUTION_STATES),
  /** False when the same report was already accepted (idempotent repeat). */
  recorded: z.boolean(),
});

export const OTA_EXECUTION_STATUS = defineHttpRoute({
  name: 'ota-distributor.device.status',
  audience: 'device',
  method: 'POST',
  path: '/ota/v1/executions/:executionId/status',
  summary: 'A meter reports the progress of one execution',
  description: `Idempotent per (attempt, seq); at most ${OTA_MAX_STATUS_REPORTS} accepted per execution.`,
  params: { executionId },
  request: otaStatusReport,
  responses: {
    200: otaStatusAnswer,
    ...refusalResponses(OTA_DEVICE_REFUSALS, [
      ...authCodes,
      'INVALID_REQUEST',
      'MALFORMED_JSON',
      'BODY_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'EXECUTION_NOT_FOUND',
      'EXECUTION_CLOSED',
      'STATUS_CONFLICT',
      'STATUS_TRANSITION_INVALID',
      'STATUS_LIMIT_REACHED',
    ]),
  },
  examples: [
    {
      title: 'downloading',
      params: { executionId: 'exe-000001' },
      request: { state: 'DOWNLOADING', attempt: 1, seq: 3, progressPercent: 40 },
      status: 200,
      response: { state: 'DOWNLOADING', recorded: true },
    },
  ],
});

// Receipt.

/** `{ receipt, signature }` as the meter signed it with its operational key (checked by @meterkeep/firmware). */
export const signedReceipt = z
  .object({ receipt: z.record(z.string(), z.unknown()), signature: z.string() })
  .describe('The install receipt (spec §6.2) and its base64url DER ES256 signature over the JCS bytes');

export const otaReceiptAnswer = z.object({
  state: z.enum(['SUCCEEDED']),
  receiptDigest: sha256Hex,
});

export const OTA_EXECUTION_RECEIPT = defineHttpRoute({
  name: 'ota-distributor.device.receipt',
  audience: 'device',
  method: 'POST',
  path: '/ota/v1/executions/:executionId/receipt',
  summary: 'A meter proves a confirmed boot of the new firmware',
  description:
    "Verified against the meter's current operational certificate; only this moves an execution to SUCCEEDED. " +
    'Sending the same receipt again answers the same.',
  params: { executionId },
  request: signedReceipt,
  responses: {
    200: otaReceiptAnswer,
    ...refusalResponses(OTA_DEVICE_REFUSALS, [
      ...authCodes,
      'MALFORMED_JSON',
      'BODY_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'EXECUTION_NOT_FOUND',
      'EXECUTION_CLOSED',
      'RECEIPT_MALFORMED',
      'RECEIPT_SIGNATURE_INVALID',
      'RECEIPT_DEVICE_MISMATCH',
      'RECEIPT_EXECUTION_MISMATCH',
      'RECEIPT_NONCE_MISMATCH',
      'RECEIPT_IMAGE_MISMATCH',
    ]),
  },
  examples: [
    {
      title: 'a confirmed boot',
      params: { executionId: 'exe-000001' },
      request: { receipt: { deviceId: 'MTR-000001' }, signature: 'MEUCIQ…' },
      status: 200,
      response: { state: 'SUCCEEDED', receiptDigest: digestExample },
    },
  ],
});

/** Every device route of the OTA distributor. */
export const OTA_DEVICE_ROUTES = [
  OTA_CHECK_IN,
  OTA_EXECUTION_MANIFEST,
  OTA_DOWNLOAD_URL,
  OTA_EXECUTION_STATUS,
  OTA_EXECUTION_RECEIPT,
] as const;
