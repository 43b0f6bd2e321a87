import { DomainError } from '@meterkeep/service-runtime';

export const DataKeyErrors = {
  /** The same answer whether the key does not exist or belongs to another tenant. */
  notFound: () => new DomainError('not-found', 'DATA_KEY_NOT_FOUND', 'No such data key'),
  /** Crypto-shredded: whatever it encrypted stays unreadable. HTTP 410. */
  destroyed: () => new DomainError('gone', 'KEY_DESTROYED', 'The data key was destroyed'),
  /** The calling consumer holds no grant for the tenant (PRIVACY_DATA_KEY_GRANTS). HTTP 403, audited. */
  notGranted: (caller: string, tenantId: string) =>
    new DomainError(
      'forbidden',
      'DATA_KEY_NOT_GRANTED',
      `${caller} holds no grant for the data keys of tenant ${tenantId}`,
    ),
} as const;
