import { type ExecutionContext, createParamDecorator } from '@nestjs/common';
import type { Request } from 'express';
import { apiKeyRole } from '@meterkeep/contracts';

/** What an operator API key may do: administer, operate, or only read (auditor); as introspection answers it. */
export const ROLES = apiKeyRole.options;
export type Role = (typeof ROLES)[number];

/** Who is calling: the API key ApiKeyGuard resolved. Every query is scoped to its tenant. */
export interface Caller {
  tenantId: string;
  keyId: string;
  role: Role;
  /** As the caller appears in events and audit records: `key_<keyId>`. */
  actor: string;
}

export type AuthenticatedRequest = Request & { caller?: Caller };

/** The bearer token of an `Authorization: Bearer <key>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1];
}

/** The authenticated caller of this request (the route must be behind ApiKeyGuard). */
export const CurrentCaller = createParamDecorator((_: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<AuthenticatedRequest>().caller;
  if (!caller) throw new Error('CurrentCaller used on a route without ApiKeyGuard');
  return caller;
});

/**
 * How a service turns an `Authorization: Bearer <key>` header into its caller; each service with
 * operator routes provides one (`{ provide: CallerResolver, useExisting: ... }`). Throws
 * AuthErrors.unauthenticated() for a missing, malformed, unknown or revoked key, or another
 * DomainError when it cannot tell.
 */
export abstract class CallerResolver {
  abstract execute(authorization: string | undefined): Promise<Caller>;
}
