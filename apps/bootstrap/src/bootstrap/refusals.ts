import { isPkiError } from '@meterkeep/pki';
import type { BootstrapRefusalCode } from '@meterkeep/contracts';
import { DomainError } from '@meterkeep/service-runtime';
import type { DeviceRecord } from '../read-model/read-model.records';
import { BootstrapErrors } from './bootstrap.errors';

/** A certificate path that failed validation, in the device API's words. Other errors pass through. */
export function chainRefusal(error: unknown): DomainError {
  if (!isPkiError(error)) throw error;
  if (error.code === 'EXPIRED') return BootstrapErrors.certificateExpired(error.message);
  if (error.code === 'REVOKED') return BootstrapErrors.certificateRevoked();
  return BootstrapErrors.certificateInvalid(error.message);
}

/** What a chain may be refused for before it is proven to come from a trusted CA. */
const BEFORE_AUTHENTICATION: readonly string[] = [
  'UNKNOWN_CA',
  'CA_DISABLED',
  'CERTIFICATE_EXPIRED',
  'CERTIFICATE_INVALID',
  'CERTIFICATE_REVOKED',
] satisfies BootstrapRefusalCode[];

/** The refusal `error` is when it was met before authentication, to be answered uniformly; else undefined. */
export function preAuthenticationRefusal(error: unknown): DomainError | undefined {
  return error instanceof DomainError && BEFORE_AUTHENTICATION.includes(error.code) ? error : undefined;
}

/** A CSR refused by the PKI library, in the device API's words. Other errors pass through. */
export function csrRefusal(error: unknown): DomainError {
  if (!isPkiError(error)) throw error;
  if (error.code === 'UNSUPPORTED_KEY' || error.code === 'UNSUPPORTED_ALGORITHM')
    return BootstrapErrors.csrKeyUnsupported(
      `The CSR must carry a P-256 key signed with ECDSA-SHA256: ${error.message}`,
    );
  if (error.code === 'CSR_SUBJECT_MISMATCH') return BootstrapErrors.csrSubjectMismatch(error.message);
  return BootstrapErrors.invalidRequest(`csrPem: ${error.message}`);
}

/** Refuses a meter whose lifecycle state forbids a certificate: only ENROLLED and ACTIVE get one. */
export function admit(device: DeviceRecord): void {
  switch (device.status) {
    case 'ENROLLED':
    case 'ACTIVE':
      return;
    case 'SUSPENDED':
      throw BootstrapErrors.deviceSuspended();
    case 'DECOMMISSIONED':
      throw BootstrapErrors.deviceDecommissioned();
  }
}
