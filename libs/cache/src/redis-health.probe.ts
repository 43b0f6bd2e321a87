import { type HealthProbe, withTimeout } from '@meterkeep/observability';
import { type Redis } from 'ioredis';

/** Ready while Redis answers PING within `timeoutMs`. */
export class RedisHealthProbe implements HealthProbe {
  readonly name = 'redis';

  constructor(
    private readonly redis: Redis,
    private readonly timeoutMs = 1_000,
  ) {}

  async check(): Promise<void> {
    await withTimeout(this.redis.ping(), this.timeoutMs, 'redis');
  }
}
