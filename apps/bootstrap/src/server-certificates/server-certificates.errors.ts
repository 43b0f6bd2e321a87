import { isPkiError } from '@meterkeep/pki';
import { DomainError } from '@meterkeep/service-runtime';

export const ServerCertificateErrors = {
  csrInvalid: (detail: string) =>
    new DomainError(
      'invalid',
      'CSR_INVALID',
      `The CSR is malformed or its signature does not verify: ${detail}`,
    ),
  csrKeyUnsupported: (detail: string) =>
    new DomainError(
      'invalid',
      'CSR_KEY_UNSUPPORTED',
      `The CSR must carry a P-256 key signed with ECDSA-SHA256: ${detail}`,
    ),
  hostnameNotAllowed: (caller: string, hostnames: string[]) =>
    new DomainError(
      'forbidden',
      'HOSTNAME_NOT_ALLOWED',
      `${caller} may not have a server certificate for ${hostnames.join(', ')} (BOOTSTRAP_SERVER_CERT_HOSTNAMES)`,
      { caller, hostnames },
    ),
} as const;

/** A CSR the PKI library refused, in this route's words. Other errors pass through. */
export function serverCsrRefusal(error: unknown): DomainError {
  if (!isPkiError(error)) throw error;
  if (error.code === 'UNSUPPORTED_KEY' || error.code === 'UNSUPPORTED_ALGORITHM')
    return ServerCertificateErrors.csrKeyUnsupported(error.message);
  return ServerCertificateErrors.csrInvalid(error.message);
}
