import { SetMetadata, applyDecorators } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import type { Role } from './caller';

export const ROLES_KEY = 'meterkeep:roles';

/** The roles allowed on a route (shown in the OpenAPI document as x-roles); ApiKeyGuard refuses a route that names none. */
export const Roles = (...roles: Role[]) =>
  applyDecorators(SetMetadata(ROLES_KEY, roles), ApiExtension('x-roles', roles));

/** Read-only routes: every role, the auditor included. */
export const ANY_ROLE: Role[] = ['admin', 'operator', 'auditor'];
/** Routes that change things: not the auditor. */
export const WRITERS: Role[] = ['admin', 'operator'];
