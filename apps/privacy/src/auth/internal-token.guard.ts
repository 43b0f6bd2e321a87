import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { DomainError } from '@meterkeep/service-runtime';
import { INTERNAL_API_TOKEN } from '../core/tokens';

export const INTERNAL_TOKEN_HEADER = 'x-internal-token';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Internal routes (service to service, never exposed through the ingress): the caller presents the
 * shared INTERNAL_API_TOKEN in x-internal-token, compared in constant time (as digests, so lengths
 * leak nothing).
 */
@Injectable()
export class InternalTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(INTERNAL_API_TOKEN) token: string) {
    this.expected = digest(token);
  }

  canActivate(context: ExecutionContext): boolean {
    const presented = context.switchToHttp().getRequest<Request>().headers[INTERNAL_TOKEN_HEADER];
    const ok = typeof presented === 'string' && timingSafeEqual(digest(presented), this.expected);
    if (!ok)
      throw new DomainError(
        'unauthenticated',
        'UNAUTHENTICATED',
        `This internal route needs a valid ${INTERNAL_TOKEN_HEADER}`,
      );
    return true;
  }
}
