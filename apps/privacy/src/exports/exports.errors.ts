import { DomainError } from '@meterkeep/service-runtime';

export type ExportErrorCode = 'SUBJECT_NOT_FOUND' | 'EXPORT_NOT_FOUND' | 'OCCUPANCY_NOT_OF_SUBJECT';

export const ExportErrors = {
  /** No occupancy of the tenant names the subject (another tenant's subject answers the same). */
  subjectNotFound: () =>
    new DomainError('not-found', 'SUBJECT_NOT_FOUND', 'No occupancy of this tenant names the subject'),
  /** Another subject's or tenant's export answers the same. */
  notFound: () => new DomainError('not-found', 'EXPORT_NOT_FOUND', 'No such export'),
  /** An occupancy named in the request is not one of the subject's (or not of this tenant). */
  occupancyNotOfSubject: (occupancyId: string) =>
    new DomainError('not-found', 'OCCUPANCY_NOT_OF_SUBJECT', 'The occupancy is not one of the subject’s', {
      occupancyId,
    }),
} as const satisfies Record<string, (...args: never[]) => DomainError>;
