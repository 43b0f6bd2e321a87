import { DomainError } from '@meterkeep/service-runtime';

/** Seconds a caller should wait when enrollment cannot say whose key it is. */
export const AUTH_RETRY_AFTER_SECONDS = 5;

export const AuthErrors = {
  unauthenticated: () =>
    new DomainError(
      'unauthenticated',
      'UNAUTHENTICATED',
      'A valid API key is required (Authorization: Bearer mk_...)',
    ),
  forbidden: () => new DomainError('forbidden', 'FORBIDDEN', "This API key's role may not do this"),
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
