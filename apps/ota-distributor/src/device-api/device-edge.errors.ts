import { OTA_DEVICE_REFUSALS, type OtaDeviceRefusalCode } from '@meterkeep/contracts';
import { OTA_DEVICE_MAX_BODY_BYTES } from '@meterkeep/contracts';
import { errorCatalogue } from '@meterkeep/service-runtime';

/** The refusals the device edge answers before any controller: who the meter is, and its body's bounds. */
type EdgeCode = Extract<
  OtaDeviceRefusalCode,
  | 'CLIENT_CERTIFICATE_REQUIRED'
  | 'CERTIFICATE_UNTRUSTED'
  | 'CERTIFICATE_EXPIRED'
  | 'CERTIFICATE_REVOKED'
  | 'METER_NOT_ACTIVE'
  | 'NOT_YET_KNOWN'
  | 'DISTRIBUTOR_SATURATED'
  | 'MALFORMED_JSON'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
>;

const pick = <C extends OtaDeviceRefusalCode>(codes: readonly C[]) =>
  Object.fromEntries(codes.map((code) => [code, OTA_DEVICE_REFUSALS[code]])) as Pick<
    typeof OTA_DEVICE_REFUSALS,
    C
  >;

/**
 * Codes and statuses from the contract (OTA_DEVICE_REFUSALS), messages here. Security rule: nothing
 * of a device's request is read past its headers before its certificate is verified, current and of
 * an ACTIVE meter; an unknown meter is "retry later" only until the directory has caught up.
 */
export const DEVICE_EDGE_ERRORS = errorCatalogue<EdgeCode>(
  pick<EdgeCode>([
    'CLIENT_CERTIFICATE_REQUIRED',
    'CERTIFICATE_UNTRUSTED',
    'CERTIFICATE_EXPIRED',
    'CERTIFICATE_REVOKED',
    'METER_NOT_ACTIVE',
    'NOT_YET_KNOWN',
    'DISTRIBUTOR_SATURATED',
    'MALFORMED_JSON',
    'BODY_TOO_LARGE',
    'UNSUPPORTED_MEDIA_TYPE',
  ]),
  {
    CLIENT_CERTIFICATE_REQUIRED: 'Present the operational certificate issued at bootstrap',
    CERTIFICATE_UNTRUSTED: 'Client certificate refused: …',
    CERTIFICATE_EXPIRED: 'The client certificate has expired',
    CERTIFICATE_REVOKED: 'This certificate was revoked or replaced; bootstrap again',
    METER_NOT_ACTIVE: 'The sender is not an active meter',
    NOT_YET_KNOWN: 'The sender is not known yet; retry later',
    DISTRIBUTOR_SATURATED: 'The distributor is at capacity; retry later',
    MALFORMED_JSON: 'The body is not valid JSON',
    BODY_TOO_LARGE: `A device request body is at most ${OTA_DEVICE_MAX_BODY_BYTES} bytes`,
    UNSUPPORTED_MEDIA_TYPE: 'Send the body as application/json',
  },
);

const { error } = DEVICE_EDGE_ERRORS;

/** Seconds a meter waits before asking again while the directory catches up. */
export const NOT_YET_KNOWN_RETRY_SECONDS = 5;

export const DeviceEdgeErrors = {
  clientCertificateRequired: () => error('CLIENT_CERTIFICATE_REQUIRED'),
  refused: (
    code: Exclude<
      EdgeCode,
      'DISTRIBUTOR_SATURATED' | 'MALFORMED_JSON' | 'BODY_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE'
    >,
    message: string,
  ) =>
    error(code, message, {
      retryAfterSeconds: code === 'NOT_YET_KNOWN' ? NOT_YET_KNOWN_RETRY_SECONDS : undefined,
    }),
  saturated: () => error('DISTRIBUTOR_SATURATED', undefined, { retryAfterSeconds: 1 }),
  malformedJson: () => error('MALFORMED_JSON'),
  bodyTooLarge: () => error('BODY_TOO_LARGE'),
  unsupportedMediaType: () => error('UNSUPPORTED_MEDIA_TYPE'),
} as const;
