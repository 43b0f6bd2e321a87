import { DomainError } from '@meterkeep/service-runtime';

export const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const TenantErrors = {
  invalidId: () =>
    new DomainError(
      'invalid',
      'INVALID_TENANT_ID',
      'A tenant id is 1-63 lowercase letters, digits or hyphens, starting with a letter or digit',
    ),
  invalidName: () => new DomainError('invalid', 'INVALID_TENANT_NAME', 'A tenant name is 1-200 characters'),
  exists: (tenantId: string) =>
    new DomainError('conflict', 'TENANT_EXISTS', `Tenant ${tenantId} already exists`),
  invalidReason: () =>
    new DomainError('invalid', 'INVALID_RECOVERY_REASON', 'A recovery reason is 1-500 characters'),
  notFound: (tenantId: string) => new DomainError('not-found', 'TENANT_NOT_FOUND', `No tenant ${tenantId}`),
} as const;
