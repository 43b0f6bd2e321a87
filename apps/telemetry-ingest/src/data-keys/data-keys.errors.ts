import { DomainError } from '@meterkeep/service-runtime';

/** Refusals of the data-key side of the ingest. */
export const DataKeyErrors = {
  /** Privacy's key vault gave no usable answer: the batch is refused with 503, and the meter retries. */
  vaultUnavailable: () =>
    new DomainError(
      'unavailable',
      'KEY_VAULT_UNAVAILABLE',
      'Data keys are unavailable; retry later',
      undefined,
      5,
    ),
} as const;
