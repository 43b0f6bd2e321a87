import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { DomainError } from '@meterkeep/service-runtime';
import type { BootstrapConfig } from '../config';
import { CONFIG } from './tokens';

export const INTERNAL_TOKEN_HEADER = 'x-internal-token';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Internal routes (service to service, on the plain listener only, never exposed through the
 * ingress): the caller presents the shared INTERNAL_API_TOKEN in x-internal-token, compared in
 * constant time (as digests, so lengths leak nothing), as enrollment's internal routes do.
 */
@Injectable()
export class InternalTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(CONFIG) config: BootstrapConfig) {
    this.expected = digest(config.INTERNAL_API_TOKEN);
  }

  canActivate(context: ExecutionContext): boolean {
    const presented = context.switchToHttp().getRequest<Request>().headers[INTERNAL_TOKEN_HEADER];
    if (typeof presented === 'string' && timingSafeEqual(digest(presented), this.expected)) return true;
    throw new DomainError(
      'unauthenticated',
      'UNAUTHENTICATED',
      `This internal route needs a valid ${INTERNAL_TOKEN_HEADER}`,
    );
  }
}
