import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import type { Logger } from '@meterkeep/observability';
import { DomainError } from '@meterkeep/service-runtime';
import type { Role } from '../core/database';
import { LOGGER } from '../core/tokens';
import { AuthErrors } from './auth.errors';
import { AuthenticateCallerUseCase } from './authenticate-caller.use-case';
import type { AuthenticatedRequest } from './caller';
import { ROLES_KEY } from './roles.decorator';

/**
 * 401 without a valid, unrevoked API key; 503 when enrollment cannot tell; 403 when the key's role is
 * not among the route's @Roles. A route without @Roles is refused to everyone (fail closed) and logged.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticate: AuthenticateCallerUseCase,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    let caller;
    try {
      caller = await this.authenticate.execute(request.headers.authorization);
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
