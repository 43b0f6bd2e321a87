import { type ExecutionContext, createParamDecorator } from '@nestjs/common';
import type { Request } from 'express';
import type { Role } from '../core/database';

/** Who is calling: the API key resolved by enrollment. Every query is scoped to its tenant. */
export interface Caller {
  tenantId: string;
  keyId: string;
  role: Role;
  /** As the caller appears in events and audit records: `key_<keyId>`. */
  actor: string;
}

export type AuthenticatedRequest = Request & { caller?: Caller };

/** The authenticated caller of this request (the route must be behind ApiKeyGuard). */
export const CurrentCaller = createParamDecorator((_: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<AuthenticatedRequest>().caller;
  if (!caller) throw new Error('CurrentCaller used on a route without ApiKeyGuard');
  return caller;
});
