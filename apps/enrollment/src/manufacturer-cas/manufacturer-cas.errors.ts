import type { PkiErrorCode } from '@meterkeep/pki';
import { DomainError } from '@meterkeep/service-runtime';
import type { ManufacturerCaStatus } from '../core/database';

export const ManufacturerCaErrors = {
  malformed: (reason: string) =>
    new DomainError(
      'invalid',
      'CERTIFICATE_MALFORMED',
      'certificatePem must hold exactly one X.509 certificate in PEM',
      {
        reason,
      },
    ),
  keyNotP256: () =>
    new DomainError(
      'invalid',
      'CERTIFICATE_KEY_NOT_P256',
      'Only ECDSA P-256 certificates signed with ecdsa-with-SHA256 are accepted',
    ),
  notACa: () =>
    new DomainError(
      'invalid',
      'CERTIFICATE_NOT_A_CA',
      'The certificate is not a CA (basicConstraints CA:true and keyUsage keyCertSign are required)',
    ),
  caOutsideValidity: () =>
    new DomainError('invalid', 'CERTIFICATE_NOT_VALID_NOW', 'The CA certificate is expired or not yet valid'),
  alreadyRegistered: (caId: string, status: ManufacturerCaStatus) =>
    new DomainError('conflict', 'CA_ALREADY_REGISTERED', `This CA is already registered (${status})`, {
      caId,
      status,
    }),
  notFound: () => new DomainError('not-found', 'CA_NOT_FOUND', 'No such manufacturer CA'),
  notPending: (status: ManufacturerCaStatus) =>
    new DomainError(
      'conflict',
      'CA_NOT_PENDING_VERIFICATION',
      `The CA is ${status}, not awaiting verification`,
    ),
  codeExpired: () =>
    new DomainError(
      'invalid',
      'VERIFICATION_CODE_EXPIRED',
      'The verification code has expired; register the CA again for a new one',
    ),
  codeMismatch: () =>
    new DomainError(
      'invalid',
      'VERIFICATION_CODE_MISMATCH',
      "The verification certificate's CN is not the verification code",
    ),
  verificationRejected: (reason: PkiErrorCode, message: string) =>
    new DomainError(
      'invalid',
      'VERIFICATION_CERTIFICATE_REJECTED',
      `The verification certificate does not chain to this CA: ${message}`,
      { reason },
    ),
} as const;
