import type { ErasureConfirmationOptions } from '@meterkeep/service-runtime';

/**
 * Enrollment's part of an erasure saga. It holds the meters as devices (registry records, credentials
 * sealed under its KEK, gateways, enrollment lists, API keys, audit), never who occupies them: no
 * readings, occupancies or data keys. A meter outlives its occupants, so its record stays and the
 * answer is not-applicable, given by every replica.
 */
export function erasureConfirmation(instance?: string): ErasureConfirmationOptions {
  return {
    service: 'enrollment',
    ...(instance !== undefined && { instance }),
    answer: (event) => ({
      outcome: 'not-applicable',
      detail: `enrollment holds device records of ${event.meterIds.length} meter(s), no readings, occupancies or data keys`,
    }),
  };
}
