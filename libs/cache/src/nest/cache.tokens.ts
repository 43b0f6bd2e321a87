/** Injection token of the service's Redis client: `@Inject(REDIS) redis: Redis`. */
export const REDIS = Symbol('meterkeep:redis');
