import { z } from 'zod';

/** The release gate (release/): how often it looks for closed windows, how long it waits for late readings. */
export const releaseGateEnv = {
  /**
   * How often each replica releases the windows that closed; 0 turns the releaser off. A pass plans
   * only the occupancies due (release_schedule: new readings, a ledger or occupancy change, a window
   * closing; about 50 ms each), and windows wait out PRIVACY_RELEASE_GRACE_S anyway: once a minute
   * costs no latency worth having. Withdrawal does not depend on it (each release checks the ledger
   * under the occupancy's lock).
   */
  PRIVACY_RELEASE_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  /** How long after its end a window waits for late readings; one arriving later is never released. */
  PRIVACY_RELEASE_GRACE_S: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(900),
  /** How far back (by reading time) the releaser looks for readings still to release. */
  PRIVACY_RELEASE_LOOKBACK_DAYS: z.coerce.number().int().min(1).max(800).default(62),
};
