import { z } from 'zod';

/** The release gate (release/): how often it looks for closed windows, how long it waits for late readings. */
export const releaseGateEnv = {
  /** How often each replica releases the windows that closed; 0 turns the releaser off. */
  PRIVACY_RELEASE_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(1_000),
  /** How long after its end a window waits for late readings; one arriving later is never released. */
  PRIVACY_RELEASE_GRACE_S: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(900),
  /** How far back (by reading time) the releaser looks for readings still to release. */
  PRIVACY_RELEASE_LOOKBACK_DAYS: z.coerce.number().int().min(1).max(400).default(62),
};
