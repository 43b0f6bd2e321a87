import { z } from 'zod';

/** Change of tenancy (occupancies/, reseal/): how far back a move-out may be dated, and the re-seal job. */
export const changeOfTenancyEnv = {
  /**
   * How many days in the past an occupancy may be closed ("left without notice"); older is refused
   * (BACKDATE_TOO_FAR). Everything sealed under the old occupant's key since then is re-sealed.
   */
  PRIVACY_MAX_BACKDATE_DAYS: z.coerce.number().int().min(0).max(3_650).default(90),
  /** How often each replica looks for due re-seal jobs; 0 turns the worker off (jobs wait in the table). */
  PRIVACY_RESEAL_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(5_000),
};
