import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { generateApiKey, keyActor } from '../auth/api-key';
import { ApiKeysRepository } from '../auth/api-keys.repository';
import { Transactions } from '../outbox/transactions';
import { TenantErrors } from '../tenants/tenants.errors';
import { TenantsRepository } from '../tenants/tenants.repository';
import { toApiKeyView } from './api-key.view';
import type { CreateApiKeyRequest, CreatedApiKeyView } from './api-keys.schemas';

/** A new API key for the caller's tenant; the whole key is returned this once. */
@Injectable()
export class CreateApiKeyUseCase {
  constructor(
    private readonly tenants: TenantsRepository,
    private readonly keys: ApiKeysRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  async execute(
    caller: Pick<Caller, 'tenantId' | 'actor'>,
    request: CreateApiKeyRequest,
  ): Promise<CreatedApiKeyView> {
    if (!(await this.tenants.exists(caller.tenantId))) throw TenantErrors.notFound(caller.tenantId);
    const key = generateApiKey();
    const row = await this.transactions.run(async (trx) => {
      const inserted = await this.keys.insert(trx, {
        keyId: key.keyId,
        tenantId: caller.tenantId,
        role: request.role,
        name: request.name ?? null,
        secretSha256: key.secretSha256,
        createdBy: caller.actor,
      });
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'apikey.created',
          actor: caller.actor,
          subject: keyActor(key.keyId),
          outcome: 'allowed',
          detail: { role: request.role },
        },
      ]);
      return inserted;
    });
    return { ...toApiKeyView(row), apiKey: key.token };
  }
}
