import { DomainError, type DomainErrorKind } from '@meterkeep/service-runtime';
import type { ConsentRefusal, ConsentRefusalCode } from './policy';

/** How each refusal of the rules reaches a caller: a stable code, a status by kind. */
const KIND: Record<ConsentRefusalCode, DomainErrorKind> = {
  PURPOSE_UNKNOWN: 'unprocessable',
  RECIPIENT_NOT_ALLOWED: 'unprocessable',
  BASIS_NOT_ALLOWED: 'unprocessable',
  GRANULARITY_NOT_PERMITTED: 'unprocessable',
  NOTICE_REQUIRED: 'unprocessable',
  OPT_OUT_NOT_AVAILABLE: 'unprocessable',
  PERIOD_REQUIRED: 'unprocessable',
  OPTED_OUT: 'conflict',
  OCCUPANCY_CLOSED: 'conflict',
  INVALID_PERIOD: 'invalid',
};

export const ConsentErrors = {
  /** The same answer whether the occupancy does not exist or belongs to another tenant. */
  occupancyNotFound: () => new DomainError('not-found', 'OCCUPANCY_NOT_FOUND', 'No such occupancy'),
  refused: ({ code, message }: ConsentRefusal) => new DomainError(KIND[code], code, message),
  /** The reference names the household itself: evidence must stay opaque. */
  evidenceNamesSubject: () =>
    new DomainError(
      'invalid',
      'EVIDENCE_REF_INVALID',
      "The evidence reference contains the household's reference",
    ),
} as const;
