import { DomainError } from '../errors/domain-error';
import { AuthErrors } from '../auth/auth.errors';

/** Seconds a caller should wait when enrollment cannot say whose key it is. */
export const AUTH_RETRY_AFTER_SECONDS = 5;

/** Every service's API-key refusals, and one of keys checked by enrollment: enrollment could not be asked. */
export const OperatorAuthErrors = {
  ...AuthErrors,
  /** Enrollment, which owns the keys, did not answer: not the caller's fault, so not a 401. */
  unavailable: () =>
    new DomainError(
      'unavailable',
      'AUTH_UNAVAILABLE',
      'API keys cannot be checked right now; retry shortly',
      undefined,
      AUTH_RETRY_AFTER_SECONDS,
    ),
} as const;
