import { Injectable } from '@nestjs/common';
import { AuditLog } from '../audit/audit-log';
import { generateApiKey, keyActor } from '../auth/api-key';
import { ApiKeysRepository } from '../auth/api-keys.repository';
import { Transactions } from '../outbox/transactions';
import { TENANT_ID, TenantErrors } from './tenants.errors';
import { TenantsRepository } from './tenants.repository';

export interface CreateTenantCommand {
  tenantId: string;
  name?: string;
  /** Who runs it: the CLI says 'cli'. */
  actor: string;
}

export interface CreatedTenant {
  tenantId: string;
  name: string;
  adminKeyId: string;
  /** The first admin key: shown once, never stored. There is no default password. */
  adminApiKey: string;
}

/** A new tenant and its first admin API key, in one transaction, audited. */
@Injectable()
export class CreateTenantUseCase {
  constructor(
    private readonly tenants: TenantsRepository,
    private readonly keys: ApiKeysRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  async execute({ tenantId, name = tenantId, actor }: CreateTenantCommand): Promise<CreatedTenant> {
    if (!TENANT_ID.test(tenantId)) throw TenantErrors.invalidId();
    if (name.length < 1 || name.length > 200) throw TenantErrors.invalidName();
    const key = generateApiKey();
    await this.transactions.run(async (trx) => {
      if (!(await this.tenants.insert(trx, tenantId, name))) throw TenantErrors.exists(tenantId);
      await this.keys.insert(trx, {
        keyId: key.keyId,
        tenantId,
        role: 'admin',
        name: 'first admin key',
        secretSha256: key.secretSha256,
        createdBy: actor,
      });
      await this.audit.append(trx, tenantId, [
        { action: 'tenant.created', actor, subject: tenantId, outcome: 'allowed' },
        {
          action: 'apikey.created',
          actor,
          subject: keyActor(key.keyId),
          outcome: 'allowed',
          detail: { role: 'admin' },
        },
      ]);
    });
    return { tenantId, name, adminKeyId: key.keyId, adminApiKey: key.token };
  }
}
