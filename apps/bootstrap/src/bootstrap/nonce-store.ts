import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from '@meterkeep/cache';
import { REDIS } from '@meterkeep/cache/nest';
import { cacheUnavailable } from '../read-model/read-model.store';

export const NONCE_TTL_SECONDS = 60;
const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();
const keyOf = (nonce: string) => `bootstrap:nonce:${sha256(nonce).toString('hex')}`;

/**
 * Single-use PSK nonces in Redis: stored under their hash (a leaked key list gives no usable nonce),
 * bound to the hash of the PSK identity they were issued for, gone after 60 s or at first use.
 */
@Injectable()
export class NonceStore {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async issue(pskIdentity: string, now = new Date()): Promise<{ nonce: string; expiresAt: Date }> {
    const nonce = randomBytes(32).toString('base64url');
    let stored: string | null;
    try {
      stored = await this.redis.set(
        keyOf(nonce),
        sha256(pskIdentity).toString('hex'),
        'EX',
        NONCE_TTL_SECONDS,
        'NX',
      );
    } catch {
      throw cacheUnavailable();
    }
    if (stored !== 'OK') throw new Error('nonce collision');
    return { nonce, expiresAt: new Date(now.getTime() + NONCE_TTL_SECONDS * 1_000) };
  }

  /** Consumes the nonce (GETDEL: a replay, even a concurrent one, finds nothing); true if it was this identity's. */
  async consume(nonce: string, pskIdentity: string): Promise<boolean> {
    let bound: string | null;
    try {
      bound = await this.redis.getdel(keyOf(nonce));
    } catch {
      throw cacheUnavailable();
    }
    if (bound === null) return false;
    const expected = sha256(pskIdentity);
    const actual = Buffer.from(bound, 'hex');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}
