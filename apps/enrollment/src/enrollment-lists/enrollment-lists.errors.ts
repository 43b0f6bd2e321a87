import { DomainError } from '@meterkeep/service-runtime';

export const EnrollmentListErrors = {
  invalidHeader: (message: string) => new DomainError('invalid', 'INVALID_ENROLLMENT_LIST_HEADER', message),
  empty: () => new DomainError('invalid', 'ENROLLMENT_LIST_EMPTY', 'The list has no rows'),
  tooLarge: (what: string) =>
    new DomainError(
      'invalid',
      'ENROLLMENT_LIST_TOO_LARGE',
      `The list is larger than ${what}; split it (rows already reported in earlier batches stay enrolled, and a re-upload is idempotent)`,
    ),
  notFound: () => new DomainError('not-found', 'UPLOAD_NOT_FOUND', 'No such upload'),
} as const;
