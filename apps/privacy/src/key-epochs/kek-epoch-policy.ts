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

/**
 * Until when a backup of the privacy database may still bring back a key wrapped under `epoch`: its
 * destruction date once destroyed; retirement plus retention once retired (destroyed at the first
 * check after); for an epoch still in use, an estimate assuming rotations keep their schedule. Epoch 0
 * is PRIVACY_KEK itself: a backup from before the first rotation opens with it for as long as that key
 * is kept (null), whatever epoch 0's record says.
 */
export function backupsRecoverableUntil(
  epoch: { epoch: number; opened_at: Date; retired_at: Date | null; destroyed_at: Date | null },
  schedule: KekEpochSchedule,
): { until: Date | null; estimated: boolean } {
  if (epoch.epoch === 0) return { until: null, estimated: false };
  if (epoch.destroyed_at !== null) return { until: epoch.destroyed_at, estimated: false };
  if (epoch.retired_at !== null)
    return { until: unrecoverableAfter(epoch.retired_at, schedule), estimated: false };
  const rotation = new Date(epoch.opened_at.getTime() + schedule.rotationDays * DAY_MS);
  return { until: unrecoverableAfter(rotation, schedule), estimated: true };
}
