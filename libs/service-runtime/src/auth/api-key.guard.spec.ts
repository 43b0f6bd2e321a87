import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { describe, expect, it, vi } from 'vitest';
import type { Logger } from '@meterkeep/observability';
import { DomainError } from '../errors/domain-error';
import { ApiKeyGuard } from './api-key.guard';
import { AuthErrors } from './auth.errors';
import { type AuthenticatedRequest, type Caller, CallerResolver, type Role } from './caller';
import { ROLES_KEY } from './roles.decorator';

const auditor: Caller = { tenantId: 't1', keyId: 'k1', role: 'auditor', actor: 'key_k1' };

class FixedResolver extends CallerResolver {
  constructor(private readonly answer: () => Promise<Caller>) {
    super();
  }
  execute(): Promise<Caller> {
    return this.answer();
  }
}

function setup(answer: () => Promise<Caller>, roles: Role[] | undefined) {
  const handler = () => undefined;
  if (roles) Reflect.defineMetadata(ROLES_KEY, roles, handler);
  const request = { headers: { authorization: 'Bearer mk_x' }, method: 'GET', path: '/v1/x' };
  const setHeader = vi.fn();
  const context = {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({ setHeader }) }),
    getHandler: () => handler,
    getClass: () => class {},
  } as unknown as ExecutionContext;
  const logger = { error: vi.fn() } as unknown as Logger;
  const guard = new ApiKeyGuard(new Reflector(), new FixedResolver(answer), logger);
  return { guard, context, request: request as unknown as AuthenticatedRequest, setHeader, logger };
}

const refusal = async (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('ApiKeyGuard', () => {
  it("lets a caller of one of the route's roles through, and puts it on the request", async () => {
    const { guard, context, request } = setup(() => Promise.resolve(auditor), ['admin', 'auditor']);
    expect(await guard.canActivate(context)).toBe(true);
    expect(request.caller).toEqual(auditor);
  });

  it('answers 401 with WWW-Authenticate when the resolver does not know the key', async () => {
    const { guard, context, setHeader } = setup(
      () => Promise.reject(AuthErrors.unauthenticated()),
      ['admin'],
    );
    expect(await refusal(guard.canActivate(context))).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(setHeader).toHaveBeenCalledWith('WWW-Authenticate', 'Bearer realm="meterkeep"');
  });

  it('passes on any other refusal of the resolver as it is, without WWW-Authenticate', async () => {
    const outage = new DomainError('unavailable', 'AUTH_UNAVAILABLE', 'later', undefined, 5);
    const { guard, context, setHeader } = setup(() => Promise.reject(outage), ['admin']);
    expect(await refusal(guard.canActivate(context))).toBe(outage);
    expect(setHeader).not.toHaveBeenCalled();
  });

  it("answers 403 when the key's role is not among the route's", async () => {
    const { guard, context } = setup(() => Promise.resolve(auditor), ['admin', 'operator']);
    expect(await refusal(guard.canActivate(context))).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses a route without @Roles to everyone, and logs it', async () => {
    const { guard, context, logger } = setup(() => Promise.resolve({ ...auditor, role: 'admin' }), undefined);
    expect(await refusal(guard.canActivate(context))).toMatchObject({ code: 'FORBIDDEN' });
    expect(logger.error).toHaveBeenCalledWith({ route: 'GET /v1/x' }, 'route has no @Roles; refused');
  });
});
