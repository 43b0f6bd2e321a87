import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from '@meterkeep/cache';
import { REDIS } from '@meterkeep/cache/nest';
import type { Logger } from '@meterkeep/observability';
import { CONFIG, DomainError, LOGGER, sourceKey } from '@meterkeep/service-runtime';
import type { BootstrapConfig } from '../config';
import type { DeviceRecord } from '../read-model/read-model.records';
import { cacheUnavailable } from '../read-model/read-model.store';
import { BootstrapErrors } from './bootstrap.errors';
import { rateWindow } from './rate-window';

/**
 * `meter`: a proven meter's attempts (counted only once it proved who it is, so nobody else can spend
 * them); `source`: a client address's, an IPv6 /64 as one (everything before a proof is counted
 * here); `rebootstrap`: an ACTIVE meter's bootstraps again, per hour.
 */
export type RateScope = 'meter' | 'source' | 'rebootstrap';
const WINDOW_MS: Record<RateScope, number> = { meter: 60_000, source: 60_000, rebootstrap: 3_600_000 };

/**
 * Admits one attempt into a sliding log unless `limit` were admitted in the last `window` ms: 0 when
 * admitted, else the ms until the oldest one leaves the log. Refused attempts are not logged, so a meter
 * retrying too eagerly is not locked out for longer than the window.
 */
const SLIDING_LOG = `
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`;

/**
 * Per scope and subject, subjects hashed in the keys. Attempts per minute: fixed windows (INCR, expiring
 * with the window). Bootstraps again per hour: a sliding log (a sorted set of the admitted ones), as a
 * fixed hour would let 2× the allowance through across its boundary, each one a new certificate. Fails
 * closed: without Redis, no attempt is counted, so none is let through (503, retried).
 */
@Injectable()
export class RateLimiter {
  private readonly limits: Record<RateScope, number>;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) config: BootstrapConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.limits = {
      meter: config.BOOTSTRAP_RATE_LIMIT_PER_METER,
      source: config.BOOTSTRAP_RATE_LIMIT_PER_SOURCE,
      rebootstrap: config.BOOTSTRAP_REBOOTSTRAP_PER_HOUR,
    };
  }

  /** Counts one attempt; 429 RATE_LIMITED with Retry-After once the window's allowance is spent. */
  async consume(scope: RateScope, subject: string, now = Date.now()): Promise<void> {
    const windowMs = WINDOW_MS[scope];
    const window = rateWindow(now, windowMs);
    const counted = scope === 'source' ? sourceKey(subject) : subject;
    const digest = createHash('sha256').update(counted, 'utf8').digest('hex').slice(0, 32);
    const key = `bootstrap:rl:${scope}:${digest}:${window.id}`;
    let count: number;
    try {
      const results = await this.redis
        .multi()
        .incr(key)
        .pexpire(key, windowMs + 1_000)
        .exec();
      const [error, value] = results?.[0] ?? [new Error('empty MULTI reply'), undefined];
      if (error) throw error;
      count = Number(value);
    } catch (error) {
      if (error instanceof DomainError) throw error;
      throw cacheUnavailable();
    }
    if (count > this.limits[scope]) throw BootstrapErrors.rateLimited(window.retryAfterSeconds);
  }

  /**
   * An ACTIVE meter bootstrapping again (its operational credential lost) is allowed, but rarely:
   * BOOTSTRAP_REBOOTSTRAP_PER_HOUR per meter, and logged, as each one mints a new certificate.
   */
  async rebootstrap(device: DeviceRecord, now = Date.now()): Promise<void> {
    if (device.status !== 'ACTIVE') return;
    const windowMs = WINDOW_MS.rebootstrap;
    const digest = createHash('sha256')
      .update(`${device.tenantId}/${device.endpointName}`, 'utf8')
      .digest('hex')
      .slice(0, 32);
    let waitMs: number;
    try {
      waitMs = Number(
        await this.redis.eval(
          SLIDING_LOG,
          1,
          `bootstrap:rl:rebootstrap:${digest}`,
          now,
          windowMs,
          this.limits.rebootstrap,
          `${now}:${randomUUID()}`,
        ),
      );
    } catch {
      throw cacheUnavailable();
    }
    if (waitMs > 0) throw BootstrapErrors.rateLimited(Math.max(1, Math.ceil(waitMs / 1_000)));
    this.logger.warn(
      { tenantId: device.tenantId, deviceId: device.endpointName },
      'an ACTIVE meter bootstraps again',
    );
  }
}
