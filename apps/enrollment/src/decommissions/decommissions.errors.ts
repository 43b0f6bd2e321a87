import { DomainError } from '@meterkeep/service-runtime';

export const DecommissionErrors = {
  /** The same answer whether the meter does not exist, belongs to another tenant or was never decommissioned. */
  notFound: () =>
    new DomainError(
      'not-found',
      'DECOMMISSION_NOT_FOUND',
      'No decommissioning of such a device in this tenant',
    ),
} as const;
