import { DomainError } from '@meterkeep/service-runtime';

export const CertificateErrors = {
  noCrl: () =>
    new DomainError('not-found', 'CRL_NOT_FOUND', 'This tenant has no issuing CA, so no revocation list'),
} as const;
