import type { ErasureConfirmationOptions } from '@meterkeep/service-runtime';

/**
 * Bootstrap's part of an erasure saga. It holds the meters' certificates and, in Redis, a read model of
 * their device records and single-use PSK nonces (stored under their hash, bound to a hashed identity,
 * gone within 60 s): device identity, none of it about an occupant, and no readings, occupancies or
 * data keys. Nothing to purge, so not-applicable, given by every replica.
 */
export function erasureConfirmation(instance?: string): ErasureConfirmationOptions {
  return {
    service: 'bootstrap',
    ...(instance !== undefined && { instance }),
    answer: (event) => ({
      outcome: 'not-applicable',
      detail: `bootstrap holds certificates and device records of ${event.meterIds.length} meter(s), no readings, occupancies or data keys`,
    }),
  };
}
