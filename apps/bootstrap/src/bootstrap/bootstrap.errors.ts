import { DomainError } from '@meterkeep/service-runtime';

const refused = (code: string, message: string) => new DomainError('forbidden', code, message);

/**
 * The device API's refusals (see the bootstrap device API contract). Messages never say which tenant
 * holds a meter or trusts a CA, and never echo a secret.
 */
export const BootstrapErrors = {
  invalidRequest: (message: string) => new DomainError('invalid', 'INVALID_REQUEST', message),
  clientCertificateRequired: () =>
    new DomainError(
      'unauthenticated',
      'CLIENT_CERTIFICATE_REQUIRED',
      'This route needs a client certificate in the TLS handshake',
    ),
  unknownCa: () => refused('UNKNOWN_CA', 'No tenant trusts a CA of this certificate chain'),
  caDisabled: () => refused('CA_DISABLED', 'The CA of this certificate chain has been disabled'),
  certificateExpired: (detail: string) => refused('CERTIFICATE_EXPIRED', `Certificate expired: ${detail}`),
  certificateInvalid: (detail: string) => refused('CERTIFICATE_INVALID', `Certificate refused: ${detail}`),
  certificateRevoked: () => refused('CERTIFICATE_REVOKED', 'The certificate has been revoked'),
  notEnrolledHere: (detail = 'the meter is not enrolled by a tenant trusting this CA') =>
    refused('NOT_ENROLLED_HERE', `Not enrolled: ${detail}`),
  fingerprintMismatch: () =>
    refused('FINGERPRINT_MISMATCH', 'The certificate is not the one enrolled for this meter'),
  csrSubjectMismatch: (detail: string) => refused('CSR_SUBJECT_MISMATCH', detail),
  csrKeyUnsupported: (detail: string) => refused('CSR_KEY_UNSUPPORTED', detail),
  badPskProof: () => refused('BAD_PSK_PROOF', 'The PSK proof does not verify'),
  nonceInvalid: () => refused('NONCE_INVALID', 'Unknown, expired or already used nonce'),
  deviceSuspended: () => refused('DEVICE_SUSPENDED', 'The meter is suspended'),
  deviceDecommissioned: () => refused('DEVICE_DECOMMISSIONED', 'The meter is decommissioned'),
  rateLimited: (retryAfterSeconds: number) =>
    new DomainError(
      'rate-limited',
      'RATE_LIMITED',
      'Too many requests; retry later',
      undefined,
      retryAfterSeconds,
    ),
  notYetKnown: (retryAfterSeconds: number) =>
    new DomainError(
      'unavailable',
      'NOT_YET_KNOWN',
      'The meter is not known here (yet): its enrollment may still be on its way; retry later',
      undefined,
      retryAfterSeconds,
    ),
  enrollmentUnavailable: () =>
    new DomainError('unavailable', 'UNAVAILABLE', 'The PSK check is unavailable; retry later', undefined, 5),
} as const;
