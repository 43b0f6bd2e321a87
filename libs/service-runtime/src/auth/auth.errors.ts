import { DomainError } from '../errors/domain-error';

/** Refusals of operator routes (API keys and roles). */
export const AuthErrors = {
  unauthenticated: () =>
    new DomainError(
      'unauthenticated',
      'UNAUTHENTICATED',
      'A valid API key is required (Authorization: Bearer mk_...)',
    ),
  forbidden: () => new DomainError('forbidden', 'FORBIDDEN', "This API key's role may not do this"),
} as const;
