/**
 * The Redis key prefix of each service that uses Redis: every key it writes starts with `<prefix>:`,
 * and its Redis ACL user may touch only `~<prefix>:*`. The ingest's is short on purpose: it is
 * repeated in millions of de-duplication keys.
 */
export const REDIS_KEY_PREFIXES = {
  bootstrap: 'bootstrap',
  'telemetry-ingest': 'tl',
} as const;

export type RedisService = keyof typeof REDIS_KEY_PREFIXES;
