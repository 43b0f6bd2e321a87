/** When epochs turn over: pure rules, the clock passed in. */
export interface KekEpochSchedule {
  /** A current epoch older than this is rotated away from. */
  rotationDays: number;
  /** How long a backup may be kept: an epoch retired longer ago than this is in no retained backup. */
  backupRetentionDays: number;
}

const DAY_MS = 24 * 3600 * 1000;

/** Epoch 0 (PRIVACY_KEK itself, before epochs) is always due: it has no KEK of its own to destroy. */
export function rotationDue(
  current: { epoch: number; opened_at: Date },
  now: Date,
  schedule: KekEpochSchedule,
) {
  return current.epoch === 0 || now.getTime() - current.opened_at.getTime() >= schedule.rotationDays * DAY_MS;
}

/**
 * An epoch's KEK may go once no retained backup can hold a live key wrapped under it: its last live key
 * was re-wrapped away (retired_at) longer ago than the backup retention.
 */
export function destructionDue(
  epoch: { retired_at: Date | null; destroyed_at: Date | null },
  now: Date,
  schedule: KekEpochSchedule,
) {
  return (
    epoch.destroyed_at === null &&
    epoch.retired_at !== null &&
    now.getTime() - epoch.retired_at.getTime() > schedule.backupRetentionDays * DAY_MS
  );
}

/** The date from which a backup cannot bring back a key of the epoch: for the erasure certificate. */
export function unrecoverableAfter(retiredAt: Date, schedule: KekEpochSchedule): Date {
  return new Date(retiredAt.getTime() + schedule.backupRetentionDays * DAY_MS);
}
