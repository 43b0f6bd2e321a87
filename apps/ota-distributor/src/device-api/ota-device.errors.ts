import {
  OTA_DEVICE_MAX_BODY_BYTES,
  OTA_DEVICE_REFUSALS,
  OTA_MAX_STATUS_REPORTS,
  type OtaDeviceRefusalCode,
} from '@meterkeep/contracts';
import { errorCatalogue } from '@meterkeep/service-runtime';

/**
 * Every refusal of the OTA device API: codes and statuses from the contract (OTA_DEVICE_REFUSALS),
 * messages here. Security rule: a meter learns nothing of executions that are not its own. Another
 * meter's or tenant's execution, an id that cannot exist and one that does not exist all answer the
 * same 404 EXECUTION_NOT_FOUND; messages never quote what the meter sent.
 */
export const OTA_DEVICE_ERRORS = errorCatalogue<OtaDeviceRefusalCode>(OTA_DEVICE_REFUSALS, {
  CLIENT_CERTIFICATE_REQUIRED: 'Present the operational certificate issued at bootstrap',
  CERTIFICATE_UNTRUSTED: 'Client certificate refused: …',
  CERTIFICATE_EXPIRED: 'The client certificate has expired',
  CERTIFICATE_REVOKED: 'This certificate was revoked or replaced; bootstrap again',
  METER_NOT_ACTIVE: 'The sender is not an active meter',
  NOT_YET_KNOWN: 'The sender is not known yet; retry later',
  DISTRIBUTOR_SATURATED: 'The distributor is at capacity; retry later',
  INVALID_REQUEST: 'Invalid request: …',
  MALFORMED_JSON: 'The body is not valid JSON',
  BODY_TOO_LARGE: `A device request body is at most ${OTA_DEVICE_MAX_BODY_BYTES} bytes`,
  UNSUPPORTED_MEDIA_TYPE: 'Send the body as application/json, without content encoding',
  EXECUTION_NOT_FOUND: 'No active execution of this meter has that id',
  EXECUTION_CLOSED: 'The execution is over; it takes no more reports, URLs or receipts',
  NOT_ELIGIBLE_FOR_DELTA:
    "No delta for this meter: the component is no delta, or the meter's installed image is not its precursor",
  COMPONENT_NOT_IN_MANIFEST: "The component is not in the execution's manifest",
  STATUS_CONFLICT: 'A different report was already accepted under this attempt and seq',
  STATUS_TRANSITION_INVALID: 'The execution cannot move to that state: …',
  RECEIPT_MALFORMED: 'The receipt is not a well-formed signed receipt',
  RECEIPT_SIGNATURE_INVALID: "The receipt's signature does not verify with this meter's certificate",
  RECEIPT_DEVICE_MISMATCH: 'The receipt names another device',
  RECEIPT_EXECUTION_MISMATCH: 'The receipt names another execution',
  RECEIPT_NONCE_MISMATCH: "The receipt does not carry the nonce of this execution's current directive",
  RECEIPT_IMAGE_MISMATCH: "The receipt's booted images are not the manifest's",
  STATUS_LIMIT_REACHED: `An execution takes at most ${OTA_MAX_STATUS_REPORTS} status reports`,
  DOWNLOAD_URL_RATE_LIMITED: 'Too many download URL requests for this component; retry later',
});

const { error } = OTA_DEVICE_ERRORS;

/** The refusals as the device API's use cases throw them. */
export const OtaDeviceErrors = {
  executionNotFound: () => error('EXECUTION_NOT_FOUND'),
  executionClosed: (state: string) => error('EXECUTION_CLOSED', undefined, { details: { state } }),
  notEligibleForDelta: () => error('NOT_ELIGIBLE_FOR_DELTA'),
  componentNotInManifest: () => error('COMPONENT_NOT_IN_MANIFEST'),
  statusConflict: () => error('STATUS_CONFLICT'),
  transitionInvalid: (reason: string) =>
    error('STATUS_TRANSITION_INVALID', `The execution cannot move to that state: ${reason}`),
  statusLimit: () => error('STATUS_LIMIT_REACHED', undefined, { retryAfterSeconds: 3_600 }),
  downloadRateLimited: (retryAfterSeconds: number) =>
    error('DOWNLOAD_URL_RATE_LIMITED', undefined, { retryAfterSeconds }),
  receipt: (
    code:
      | 'RECEIPT_MALFORMED'
      | 'RECEIPT_SIGNATURE_INVALID'
      | 'RECEIPT_DEVICE_MISMATCH'
      | 'RECEIPT_EXECUTION_MISMATCH'
      | 'RECEIPT_NONCE_MISMATCH'
      | 'RECEIPT_IMAGE_MISMATCH',
  ) => error(code),
  malformedJson: () => error('MALFORMED_JSON'),
  bodyTooLarge: () => error('BODY_TOO_LARGE'),
  unsupportedMediaType: () => error('UNSUPPORTED_MEDIA_TYPE'),
} as const;
