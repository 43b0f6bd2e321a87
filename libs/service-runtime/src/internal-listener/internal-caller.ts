import type { TLSSocket } from 'node:tls';
import { type CanActivate, type ExecutionContext, Injectable, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { type HttpRouteContract, INTERNAL_CALLER_NAME } from '@meterkeep/contracts';
import { DomainError } from '../errors/domain-error';
import { CONTRACT_ROUTE } from '../openapi/contract-route.decorator';
import { onInternalListener } from './internal-listener';
import { commonNameOf } from './service-identity';

export const InternalCallerErrors = {
  unauthenticated: () =>
    new DomainError(
      'unauthenticated',
      'UNAUTHENTICATED',
      'Internal routes answer only on the internal listener, to a platform certificate naming a service',
    ),
  notAllowed: (caller: string, route: string) =>
    new DomainError('forbidden', 'CALLER_NOT_ALLOWED', `${caller} may not call ${route}`, {
      caller,
      route,
    }),
} as const;

/**
 * The service that made a request on the internal listener: the CN of its client certificate, which
 * OpenSSL verified against the platform CA before the request was read. Undefined elsewhere.
 */
export function internalCallerOf(request: Request): string | undefined {
  if (!onInternalListener(request.socket)) return undefined;
  const certificate = (request.socket as TLSSocket).getPeerX509Certificate();
  const name = certificate && commonNameOf(certificate);
  return name !== undefined && INTERNAL_CALLER_NAME.test(name) ? name : undefined;
}

/**
 * Guards the internal routes (on controllers serving @ContractRoute internal routes): the request
 * came over mutual TLS with the platform CA, and the calling service is one the route's contract
 * names in `callers` (a `grantedBy` route lets any service through; its use case checks the grant).
 */
@Injectable()
export class InternalCallerGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const route = this.reflector.get<HttpRouteContract | undefined>(CONTRACT_ROUTE, context.getHandler());
    if (route?.callers === undefined)
      throw new Error('InternalCallerGuard guards @ContractRoute internal routes only');
    const caller = internalCallerOf(context.switchToHttp().getRequest<Request>());
    if (caller === undefined) throw InternalCallerErrors.unauthenticated();
    if ('services' in route.callers && !route.callers.services.includes(caller))
      throw InternalCallerErrors.notAllowed(caller, route.name);
    return true;
  }
}

/** The calling service on a guarded internal route (`@InternalCaller() caller: string`). */
export const InternalCaller = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const caller = internalCallerOf(context.switchToHttp().getRequest<Request>());
  if (caller === undefined) throw InternalCallerErrors.unauthenticated();
  return caller;
});
