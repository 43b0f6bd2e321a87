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
  /**
   * Network operators get a cell's total only when it holds at least this many meters (the US "15/15"
   * pattern; a GB DNO's approved privacy plan decides the real figure). Below 5 an aggregate hardly hides.
   */
  PRIVACY_NETWORK_MIN_METERS: z.coerce.number().int().min(5).max(10_000).default(15),
  /** …and no meter holds more than this share of the cell's total (0.15: 15 %). */
  PRIVACY_NETWORK_MAX_SHARE: z.coerce.number().gt(0).max(0.5).default(0.15),
};
