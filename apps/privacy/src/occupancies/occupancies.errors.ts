import { DomainError } from '@meterkeep/service-runtime';

export const OccupancyErrors = {
  /** The same answer whether the occupancy does not exist or belongs to another tenant. */
  notFound: () => new DomainError('not-found', 'OCCUPANCY_NOT_FOUND', 'No such occupancy'),
  overlap: (occupancyId: string) =>
    new DomainError(
      'conflict',
      'OCCUPANCY_OVERLAP',
      'The period overlaps another occupancy of this meter (close that one first)',
      { occupancyId },
    ),
  invalidPeriod: () =>
    new DomainError('invalid', 'INVALID_PERIOD', 'An occupancy must end after it starts (to > from)'),
  alreadyClosed: (to: Date) =>
    new DomainError('conflict', 'OCCUPANCY_CLOSED', 'The occupancy is already closed at another time', {
      to: to.toISOString(),
    }),
  /** A move-out dated further back than PRIVACY_MAX_BACKDATE_DAYS: what was sealed since is not re-sealed. */
  backdatedTooFar: (maxDays: number) =>
    new DomainError(
      'unprocessable',
      'BACKDATE_TOO_FAR',
      `An occupancy may be closed at most ${maxDays} days in the past`,
      { maxDays },
    ),
  invalidCursor: () =>
    new DomainError('invalid', 'INVALID_CURSOR', 'The cursor is not one this API returned'),
} as const;
