import { z } from 'zod';

const days = (fallback: number) => z.coerce.number().int().min(1).max(3_650).default(fallback);

/**
 * KEK epochs (key-epochs/kek-ring.ts): where epoch KEKs live, how often they turn over, and how long
 * backups of the privacy schema are kept (an old epoch's KEK is destroyed only after that).
 */
export const kekEpochEnv = {
  /**
   * The bucket of epoch KEKs (each wrapped under PRIVACY_KEK); made at first use. Keep it out of
   * backups, with versioning off (or noncurrent versions expiring well inside the backup retention):
   * an epoch is destroyed by deleting its object, and any copy of it outlives that.
   */
  PRIVACY_KEK_RING_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name')
    .default('meterkeep-privacy-kek-ring'),
  /** A new epoch this often: every live data key is re-wrapped to it. */
  PRIVACY_KEK_ROTATION_DAYS: days(30),
  /** The longest any backup of the privacy database (base backups, WAL archive, dumps) is kept. */
  PRIVACY_BACKUP_RETENTION_DAYS: days(35),
  /** How often each replica checks for a rotation or an epoch to destroy; 0 turns the check off. */
  PRIVACY_KEK_CHECK_INTERVAL_S: z.coerce.number().int().min(0).max(86_400).default(3_600),
};
