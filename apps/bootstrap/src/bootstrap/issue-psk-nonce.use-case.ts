import { Injectable } from '@nestjs/common';
import type { PskNonceAnswer } from '@meterkeep/contracts';
import { NonceStore } from './nonce-store';
import { RateLimiter } from './rate-limiter';

/**
 * A single-use nonce for a PSK meter's proof. Issued for any identity alike, known or not, so the
 * answer tells nothing about which identities exist.
 */
@Injectable()
export class IssuePskNonceUseCase {
  constructor(
    private readonly limits: RateLimiter,
    private readonly nonces: NonceStore,
  ) {}

  async execute(command: { pskIdentity: string; source: string }, now = new Date()): Promise<PskNonceAnswer> {
    // Per source only: anyone may ask a nonce for any identity, so no identity's allowance is spent here.
    await this.limits.consume('source', command.source);
    const { nonce, expiresAt } = await this.nonces.issue(command.pskIdentity, now);
    return { nonce, expiresAt: expiresAt.toISOString() };
  }
}
