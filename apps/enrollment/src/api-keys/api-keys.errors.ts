import { DomainError } from '@meterkeep/service-runtime';

export const ApiKeyErrors = {
  notFound: () => new DomainError('not-found', 'API_KEY_NOT_FOUND', 'No such API key'),
} as const;
