import { DomainError } from '@meterkeep/service-runtime';

export type RetentionErrorCode = 'RETENTION_SCHEDULE_NOT_FOUND';

export const RetentionErrors = {
  /** The tenant set no schedule for the purpose (another tenant's schedule answers the same). */
  scheduleNotFound: (purpose: string) =>
    new DomainError('not-found', 'RETENTION_SCHEDULE_NOT_FOUND', 'No retention schedule for this purpose', {
      purpose,
    }),
} as const satisfies Record<string, (...args: never[]) => DomainError>;
