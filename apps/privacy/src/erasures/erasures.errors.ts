import { DomainError } from '@meterkeep/service-runtime';

export type ErasureErrorCode =
  | 'SUBJECT_NOT_FOUND'
  | 'ERASURE_NOT_FOUND'
  | 'RETENTION_IN_PAST'
  | 'RETENTION_SCHEDULE_MISSING'
  | 'ERASURE_NOT_FAILED'
  | 'CERTIFICATE_NOT_READY';

export const ErasureErrors = {
  /** No occupancy of the tenant names the subject (another tenant's subject answers the same). */
  subjectNotFound: () =>
    new DomainError('not-found', 'SUBJECT_NOT_FOUND', 'No occupancy of this tenant names the subject'),
  notFound: () => new DomainError('not-found', 'ERASURE_NOT_FOUND', 'No such erasure'),
  retentionInPast: (purpose: string) =>
    new DomainError('invalid', 'RETENTION_IN_PAST', 'A retention must end in the future', { purpose }),
  /** A retention left a member out and the tenant has no schedule for its purpose to take it from. */
  retentionScheduleMissing: (purpose: string) =>
    new DomainError(
      'unprocessable',
      'RETENTION_SCHEDULE_MISSING',
      'A retention without retainUntil, legalBasis or reference needs a retention schedule for its purpose',
      { purpose },
    ),
  /** Only a FAILED saga is retried; a running one retries its missing confirmations by itself. */
  notFailed: (state: string) =>
    new DomainError('conflict', 'ERASURE_NOT_FAILED', 'Only a failed erasure can be retried', { state }),
  /** The saga has not reached CERTIFIED (yet). */
  certificateNotReady: (state: string) =>
    new DomainError('conflict', 'CERTIFICATE_NOT_READY', 'The erasure is not certified yet', { state }),
} as const satisfies Record<string, (...args: never[]) => DomainError>;
