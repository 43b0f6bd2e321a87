import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type Caller, type CallerResolver, bearerToken } from '../auth/caller';
import { OperatorAuthErrors } from './operator-auth.errors';
import { ENROLLMENT_AUTH } from './operator-auth.tokens';
import { CallerCache } from './caller-cache';
import { EnrollmentApiKeysClient, type EnrollmentAuthOptions } from './enrollment-api-keys.client';

/** The longest a positive answer is trusted (a revoked key keeps working here at most this long). */
export const MAX_CACHE_TTL_MS = 30_000;
/** How long a refused key is refused without asking enrollment again: short, as a key made later works. */
export const REFUSAL_TTL_MS = 5_000;
/** What enrollment's introspection accepts; anything longer is no key of ours. */
const MAX_KEY_LENGTH = 512;

/** A key as revocations name it: its tenant and id. */
const keyRef = (tenantId: string, keyId: string) => `${tenantId}/${keyId}`;

/**
 * Resolves an Authorization header to the caller through enrollment, with a short cache of positive
 * answers and a shorter one of refusals (bounded, keyed by digest; an outage is never cached), so a
 * flood of one bogus bearer costs enrollment one call per REFUSAL_TTL_MS. Concurrent requests with one
 * key share one introspection. A revocation heard from enrollment (revoked()) drops the key at once.
 */
@Injectable()
export class AuthenticateCallerUseCase implements CallerResolver {
  private readonly cache: CallerCache;
  /** Key ids revoked lately: an introspection answered before the revocation must not be cached. */
  private readonly revokedIds = new CallerCache<true>(MAX_CACHE_TTL_MS);
  private readonly refused = new CallerCache<true>(REFUSAL_TTL_MS);
  private readonly inFlight = new Map<string, Promise<Caller | undefined>>();

  constructor(
    private readonly enrollment: EnrollmentApiKeysClient,
    @Inject(ENROLLMENT_AUTH) options: EnrollmentAuthOptions,
  ) {
    const ttlMs = Math.min(options.cacheTtlMs ?? MAX_CACHE_TTL_MS, MAX_CACHE_TTL_MS);
    this.cache = new CallerCache<Caller>(ttlMs, undefined, (caller) => keyRef(caller.tenantId, caller.keyId));
  }

  /** Enrollment revoked this key: refuse it from now on, whatever is cached or in flight. */
  revoked(tenantId: string, keyId: string): void {
    this.revokedIds.set(keyRef(tenantId, keyId), true);
    this.cache.deleteByIndex(keyRef(tenantId, keyId));
  }

  async execute(authorization: string | undefined): Promise<Caller> {
    const token = bearerToken(authorization);
    if (!token || token.length > MAX_KEY_LENGTH) throw OperatorAuthErrors.unauthenticated();
    const id = createHash('sha256').update(token, 'utf8').digest('base64url');
    const cached = this.cache.get(id);
    if (cached) return cached;
    if (this.refused.get(id)) throw OperatorAuthErrors.unauthenticated();
    let pending = this.inFlight.get(id);
    if (!pending) {
      pending = this.enrollment
        .introspect(token)
        .then((answer) => {
          // Revoked while enrollment was answering: the answer is already stale.
          const caller =
            answer && !this.revokedIds.get(keyRef(answer.tenantId, answer.keyId)) ? answer : undefined;
          if (caller) this.cache.set(id, caller);
          else this.refused.set(id, true);
          return caller;
        })
        .finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, pending);
    }
    const caller = await pending;
    if (!caller) throw OperatorAuthErrors.unauthenticated();
    return caller;
  }
}
