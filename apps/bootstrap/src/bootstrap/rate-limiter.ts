import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from '@meterkeep/cache';
import { REDIS } from '@meterkeep/cache/nest';
import type { Logger } from '@meterkeep/observability';
import { CONFIG, LOGGER, sourceKey } from '@meterkeep/service-runtime';
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
 * Per scope and subject, subjects hashed in the keys. A meter's attempts: a sliding log (a sorted set of
 * the admitted ones, at most the allowance), as a fixed window lets 2× the allowance through across its
 * edge and sends every refused meter back at the same instant; a bootstrap again mints a certificate.
 * A source's: fixed windows (INCR, expiring with the window), O(1) whatever its allowance. Fails closed:
 * without Redis, no attempt is counted, so none is let through (503, retried).
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

  /** Counts one attempt; 429 RATE_LIMITED with Retry-After once the allowance is spent. */
  async consume(scope: RateScope, subject: string, now = Date.now()): Promise<void> {
    const counted = scope === 'source' ? sourceKey(subject) : subject;
    const digest = createHash('sha256').update(counted, 'utf8').digest('hex').slice(0, 32);
    const key = `bootstrap:rl:${scope}:${digest}`;
    const retryAfterSeconds =
      scope === 'source' ? await this.fixedWindow(key, scope, now) : await this.slidingLog(key, scope, now);
    if (retryAfterSeconds > 0) throw BootstrapErrors.rateLimited(retryAfterSeconds);
  }

  /**
   * An ACTIVE meter bootstrapping again (its operational credential lost) is allowed, but rarely:
   * BOOTSTRAP_REBOOTSTRAP_PER_HOUR per meter, and logged, as each one mints a new certificate.
   */
  async rebootstrap(device: DeviceRecord, now = Date.now()): Promise<void> {
    if (device.status !== 'ACTIVE') return;
    await this.consume('rebootstrap', `${device.tenantId}/${device.endpointName}`, now);
    this.logger.warn(
      { tenantId: device.tenantId, deviceId: device.endpointName },
      'an ACTIVE meter bootstraps again',
    );
  }

  /** Seconds to wait, 0 when admitted. */
  private async fixedWindow(key: string, scope: RateScope, now: number): Promise<number> {
    const windowMs = WINDOW_MS[scope];
    const window = rateWindow(now, windowMs);
    let count: number;
    try {
      const results = await this.redis
        .multi()
        .incr(`${key}:${window.id}`)
        .pexpire(`${key}:${window.id}`, windowMs + 1_000)
        .exec();
      const [error, value] = results?.[0] ?? [new Error('empty MULTI reply'), undefined];
      if (error) throw error;
      count = Number(value);
    } catch {
      throw cacheUnavailable();
    }
    return count > this.limits[scope] ? window.retryAfterSeconds : 0;
  }

  /** Seconds to wait, 0 when admitted. */
  private async slidingLog(key: string, scope: RateScope, now: number): Promise<number> {
    let waitMs: number;
    try {
      const reply = await this.redis.eval(
        SLIDING_LOG,
        1,
        key,
        now,
        WINDOW_MS[scope],
        this.limits[scope],
        `${now}:${randomUUID()}`,
      );
      waitMs = Number(reply);
    } catch {
      throw cacheUnavailable();
    }
    return waitMs > 0 ? Math.max(1, Math.ceil(waitMs / 1_000)) : 0;
  }
}
