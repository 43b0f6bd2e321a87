import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from '@meterkeep/cache';
import { REDIS } from '@meterkeep/cache/nest';
import { CONFIG, DomainError } from '@meterkeep/service-runtime';
import type { BootstrapConfig } from '../config';
import { cacheUnavailable } from '../read-model/read-model.store';
import { BootstrapErrors } from './bootstrap.errors';
import { rateWindow } from './rate-window';

export type RateScope = 'meter' | 'source';
const WINDOW_MS = 60_000;

/**
 * Fixed one-minute windows in Redis (INCR, expiring with the window), per meter (endpoint name or
 * PSK identity) and per source address. Subjects are hashed in the keys. Fails closed: without Redis,
 * no attempt is counted, so none is let through (503, retried).
 */
@Injectable()
export class RateLimiter {
  private readonly limits: Record<RateScope, number>;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) config: BootstrapConfig,
  ) {
    this.limits = {
      meter: config.BOOTSTRAP_RATE_LIMIT_PER_METER,
      source: config.BOOTSTRAP_RATE_LIMIT_PER_SOURCE,
    };
  }

  /** Counts one attempt; 429 RATE_LIMITED with Retry-After once the window's allowance is spent. */
  async consume(scope: RateScope, subject: string, now = Date.now()): Promise<void> {
    const window = rateWindow(now, WINDOW_MS);
    const digest = createHash('sha256').update(subject, 'utf8').digest('hex').slice(0, 32);
    const key = `bootstrap:rl:${scope}:${digest}:${window.id}`;
    let count: number;
    try {
      const results = await this.redis
        .multi()
        .incr(key)
        .pexpire(key, WINDOW_MS + 1_000)
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
}
