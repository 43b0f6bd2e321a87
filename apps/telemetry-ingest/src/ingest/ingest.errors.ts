import {
  TELEMETRY_BATCH_REFUSALS,
  TELEMETRY_MAX_BODY_BYTES,
  TELEMETRY_MAX_EVENTS,
  TELEMETRY_MAX_READINGS,
  type TelemetryBatchRefusalCode,
} from '@meterkeep/contracts';
import { type DomainError, errorCatalogue } from '@meterkeep/service-runtime';

/**
 * Every refusal of a whole batch: codes and statuses from the contract (TELEMETRY_BATCH_REFUSALS),
 * messages here. Refusals of single readings are answered in the batch's `rejected` list instead
 * (TELEMETRY_ITEM_REFUSALS).
 */
export const INGEST_ERRORS = errorCatalogue<TelemetryBatchRefusalCode>(TELEMETRY_BATCH_REFUSALS, {
  MALFORMED_JSON: 'The body is not valid JSON',
  BATCH_INVALID: 'The batch envelope is invalid',
  CLIENT_CERTIFICATE_REQUIRED: 'Present the operational certificate issued at bootstrap',
  CERTIFICATE_UNTRUSTED: 'Client certificate refused: …',
  CERTIFICATE_EXPIRED: 'The client certificate has expired',
  CERTIFICATE_REVOKED: 'This certificate was revoked or replaced; bootstrap again',
  METER_NOT_ACTIVE: 'The sender is not an active meter',
  NOT_YOUR_METER: 'This sender may not post readings for meter …',
  BATCH_TOO_LARGE: `A batch body is at most ${TELEMETRY_MAX_BODY_BYTES} bytes`,
  UNSUPPORTED_MEDIA_TYPE: 'Send the batch as application/json',
  NOT_YET_KNOWN: 'The sender is not known yet; retry later',
  INGEST_SATURATED: 'The ingest is at capacity; retry later',
  METER_BUSY: 'Another batch of this meter is being written; retry shortly',
  DEDUPE_UNAVAILABLE: 'De-duplication store unavailable; retry later',
  KAFKA_UNAVAILABLE: 'Readings could not be stored; retry later',
  KEY_VAULT_UNAVAILABLE: 'Data keys are unavailable; retry later',
});

const { error } = INGEST_ERRORS;

/** The refusals as the ingest throws them. */
export const IngestErrors = {
  malformedJson: () => error('MALFORMED_JSON'),
  batchInvalid: (issues: string[]) => error('BATCH_INVALID', undefined, { details: { issues } }),
  clientCertificateRequired: () => error('CLIENT_CERTIFICATE_REQUIRED'),
  certificateUntrusted: (reason: string) =>
    error('CERTIFICATE_UNTRUSTED', `Client certificate refused: ${reason}`),
  bodyTooLarge: () => error('BATCH_TOO_LARGE'),
  tooManyItems: () =>
    error(
      'BATCH_TOO_LARGE',
      `A batch carries at most ${TELEMETRY_MAX_READINGS} readings and ${TELEMETRY_MAX_EVENTS} events`,
    ),
  unsupportedMediaType: () => error('UNSUPPORTED_MEDIA_TYPE'),
  saturated: () => error('INGEST_SATURATED', undefined, { retryAfterSeconds: 1 }),
  meterBusy: () => error('METER_BUSY', undefined, { retryAfterSeconds: 1 }),
  dedupeUnavailable: () => error('DEDUPE_UNAVAILABLE', undefined, { retryAfterSeconds: 2 }),
  kafkaUnavailable: () => error('KAFKA_UNAVAILABLE', undefined, { retryAfterSeconds: 5 }),
  /** A slow body holds memory the ingest shares: the same answer as when it is full (no new code). */
  bodyTimeout: (seconds: number) =>
    error('INGEST_SATURATED', `The batch body did not arrive within ${seconds} s; retry later`, {
      retryAfterSeconds: 5,
    }),
} as const;

/** A refusing verdict as the ingest throws it ("not known yet" is retried after 5 s). */
export function verdictRefusal(verdict: {
  kind: string;
  code: TelemetryBatchRefusalCode;
  message: string;
}): DomainError {
  return INGEST_ERRORS.error(verdict.code, verdict.message, {
    retryAfterSeconds: verdict.kind === 'unavailable' ? 5 : undefined,
  });
}
