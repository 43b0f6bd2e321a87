import { DomainError } from '@meterkeep/service-runtime';
import type { UpdateAuthorityKeyRefusal } from './update-authority-key';

const REFUSALS: Record<UpdateAuthorityKeyRefusal, string> = {
  // Never echo the input: it may be a private key.
  PRIVATE_KEY_REFUSED: 'Only public keys are accepted; the key sent was not stored or logged',
  KEY_UNREADABLE: 'Expected exactly one PEM "PUBLIC KEY" block (SPKI)',
  KEY_TYPE_UNSUPPORTED: 'Update authorities are EC P-256 keys (ES256)',
};

export const UpdateAuthorityErrors = {
  refused: (refusal: UpdateAuthorityKeyRefusal) =>
    new DomainError('unprocessable', refusal, REFUSALS[refusal]),
  /** The same answer whether the key does not exist or is another tenant's. */
  notFound: () => new DomainError('not-found', 'UPDATE_AUTHORITY_NOT_FOUND', 'No such update authority'),
  /** A revoked authority stays revoked: its manifests must never verify again. */
  revoked: () =>
    new DomainError(
      'conflict',
      'UPDATE_AUTHORITY_REVOKED',
      'This key was revoked; a revoked update authority cannot be registered again',
    ),
} as const;
