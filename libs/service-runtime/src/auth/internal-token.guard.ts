import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { INTERNAL_TOKEN_HEADER } from '@meterkeep/contracts';
import { DomainError } from '../errors/domain-error';

/** The header in which one service presents the shared INTERNAL_API_TOKEN to another. */
export { INTERNAL_TOKEN_HEADER };

/**
 * The configured INTERNAL_API_TOKEN, which ServiceCoreModule provides from each service's config;
 * undefined turns the internal routes off.
 */
export const INTERNAL_API_TOKEN = Symbol('meterkeep:internal-api-token');

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Internal routes (service to service, never exposed through the ingress): the caller presents the
 * shared INTERNAL_API_TOKEN in x-internal-token, compared in constant time (as digests, so lengths
 * leak nothing). Without a configured token, every call is refused.
 */
@Injectable()
export class InternalTokenGuard implements CanActivate {
  private readonly expected: Buffer | undefined;

  constructor(@Inject(INTERNAL_API_TOKEN) token: string | undefined) {
    this.expected = token === undefined ? undefined : digest(token);
  }

  canActivate(context: ExecutionContext): boolean {
    const presented = context.switchToHttp().getRequest<Request>().headers[INTERNAL_TOKEN_HEADER];
    const ok =
      this.expected !== undefined &&
      typeof presented === 'string' &&
      timingSafeEqual(digest(presented), this.expected);
    if (!ok)
      throw new DomainError(
        'unauthenticated',
        'UNAUTHENTICATED',
        `This internal route needs a valid ${INTERNAL_TOKEN_HEADER}`,
      );
    return true;
  }
}
