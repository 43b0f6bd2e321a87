import { BOOTSTRAP_REFUSALS, type BootstrapRefusalCode } from '@meterkeep/contracts';
import { errorCatalogue } from '@meterkeep/service-runtime';

/**
 * The device API's refusals: codes and statuses from the contract (BOOTSTRAP_REFUSALS), messages
 * here; the OpenAPI document lists them from this catalogue. Messages never say which tenant holds a
 * meter or trusts a CA, and never echo a secret.
 */
export const BOOTSTRAP_ERRORS = errorCatalogue<BootstrapRefusalCode>(BOOTSTRAP_REFUSALS, {
  INVALID_REQUEST: 'The body does not match the schema, or the CSR cannot be read: …',
  CLIENT_CERTIFICATE_REQUIRED: 'This route needs a client certificate in the TLS handshake',
  UNKNOWN_CA: 'No tenant trusts a CA of this certificate chain',
  CA_DISABLED: 'The CA of this certificate chain has been disabled',
  CERTIFICATE_EXPIRED: 'Certificate expired: …',
  CERTIFICATE_INVALID: 'Certificate refused: …',
  CERTIFICATE_REVOKED: 'The certificate has been revoked',
  NOT_ENROLLED_HERE: 'Not enrolled: the meter is not enrolled by a tenant trusting this CA',
  FINGERPRINT_MISMATCH: 'The certificate is not the one enrolled for this meter',
  CSR_SUBJECT_MISMATCH: "The CSR's CN … is not the endpoint name …",
  CSR_KEY_UNSUPPORTED: 'The CSR must carry a new P-256 key signed with ECDSA-SHA256: …',
  BAD_PSK_PROOF: 'The PSK proof does not verify',
  NONCE_INVALID: 'Unknown, expired or already used nonce',
  DEVICE_SUSPENDED: 'The meter is suspended',
  DEVICE_DECOMMISSIONED: 'The meter is decommissioned',
  RATE_LIMITED: 'Too many requests; retry later',
  NOT_YET_KNOWN: 'The meter is not known here (yet): its enrollment may still be on its way; retry later',
  UNAVAILABLE: 'Temporarily unavailable; retry later',
});

const { error } = BOOTSTRAP_ERRORS;

/** The refusals as the use cases throw them. */
export const BootstrapErrors = {
  invalidRequest: (message: string) => error('INVALID_REQUEST', message),
  clientCertificateRequired: () => error('CLIENT_CERTIFICATE_REQUIRED'),
  /**
   * The one answer to every certificate refused before authentication at bootstrap (unknown or
   * disabled CA, expired, invalid, revoked): distinct ones would tell an anonymous prober which OEM
   * keys some tenant trusts. The reason is logged instead.
   */
  certificateNotTrusted: () =>
    error('CERTIFICATE_INVALID', 'The client certificate is not trusted for bootstrap'),
  unknownCa: () => error('UNKNOWN_CA'),
  caDisabled: () => error('CA_DISABLED'),
  certificateExpired: (detail: string) => error('CERTIFICATE_EXPIRED', `Certificate expired: ${detail}`),
  certificateInvalid: (detail: string) => error('CERTIFICATE_INVALID', `Certificate refused: ${detail}`),
  certificateRevoked: () => error('CERTIFICATE_REVOKED'),
  notEnrolledHere: (detail = 'the meter is not enrolled by a tenant trusting this CA') =>
    error('NOT_ENROLLED_HERE', `Not enrolled: ${detail}`),
  fingerprintMismatch: () => error('FINGERPRINT_MISMATCH'),
  csrSubjectMismatch: (detail: string) => error('CSR_SUBJECT_MISMATCH', detail),
  csrKeyUnsupported: (detail: string) => error('CSR_KEY_UNSUPPORTED', detail),
  badPskProof: () => error('BAD_PSK_PROOF'),
  nonceInvalid: () => error('NONCE_INVALID'),
  deviceSuspended: () => error('DEVICE_SUSPENDED'),
  deviceDecommissioned: () => error('DEVICE_DECOMMISSIONED'),
  rateLimited: (retryAfterSeconds: number) => error('RATE_LIMITED', undefined, { retryAfterSeconds }),
  notYetKnown: (retryAfterSeconds: number) => error('NOT_YET_KNOWN', undefined, { retryAfterSeconds }),
  /** A store (Redis, Kafka) did not answer: the meter retries. */
  unavailable: () => error('UNAVAILABLE', undefined, { retryAfterSeconds: 5 }),
  enrollmentUnavailable: () =>
    error('UNAVAILABLE', 'The PSK check is unavailable; retry later', { retryAfterSeconds: 5 }),
} as const;
