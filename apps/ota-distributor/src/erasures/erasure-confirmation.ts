import type { ErasureConfirmationOptions } from '@meterkeep/service-runtime';

/**
 * The OTA distributor's part of an erasure saga. It holds firmware deployments, executions and install
 * receipts per meter and a device directory: the device's history, none of it about an occupant, and no
 * readings, occupancies or data keys. Nothing to purge, so not-applicable, given by every replica.
 */
export function erasureConfirmation(instance?: string): ErasureConfirmationOptions {
  return {
    service: 'ota-distributor',
    ...(instance !== undefined && { instance }),
    answer: (event) => ({
      outcome: 'not-applicable',
      detail: `ota-distributor holds firmware history of ${event.meterIds.length} meter(s), no readings, occupancies or data keys`,
    }),
  };
}
