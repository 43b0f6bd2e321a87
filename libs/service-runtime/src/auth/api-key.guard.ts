import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  type InjectionToken,
  type Provider,
  type Type,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import type { Logger } from '@meterkeep/observability';
import { DomainError } from '../errors/domain-error';
import { AuthErrors } from './auth.errors';
import { type AuthenticatedRequest, CallerResolver, type Role } from './caller';
import { ROLES_KEY } from './roles.decorator';

/** The service's logger, for routes refused as bugs (`{ provide: AUTH_LOGGER, useExisting: LOGGER }`). */
export const AUTH_LOGGER = Symbol('meterkeep:auth-logger');

/**
 * 401 (with WWW-Authenticate) without a valid, unrevoked API key; 403 when the key's role is not among
 * the route's @Roles; any other refusal of the CallerResolver as it is (503 when it cannot tell). A
 * route without @Roles is refused to everyone (fail closed) and logged as a bug.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly callers: CallerResolver,
    @Inject(AUTH_LOGGER) private readonly logger: Logger,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    let caller;
    try {
      caller = await this.callers.execute(request.headers.authorization);
    } catch (error) {
      if (error instanceof DomainError && error.kind === 'unauthenticated')
        http.getResponse<Response>().setHeader('WWW-Authenticate', 'Bearer realm="meterkeep"');
      throw error;
    }
    request.caller = caller;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!roles) {
      this.logger.error({ route: `${request.method} ${request.path}` }, 'route has no @Roles; refused');
      throw AuthErrors.forbidden();
    }
    if (!roles.includes(caller.role)) throw AuthErrors.forbidden();
    return true;
  }
}

/**
 * What a service's (global) auth module provides and exports so that @Authenticated controllers work:
 * ApiKeyGuard, fed by the service's CallerResolver and its logger.
 */
export function apiKeyGuardProviders(
  resolver: Type<CallerResolver>,
  logger: InjectionToken,
): { providers: Provider[]; exports: InjectionToken[] } {
  return {
    providers: [
      { provide: CallerResolver, useExisting: resolver },
      { provide: AUTH_LOGGER, useExisting: logger },
      ApiKeyGuard,
    ],
    exports: [CallerResolver, AUTH_LOGGER, ApiKeyGuard],
  };
}
