import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { keyActor } from '../auth/api-key';
import { ApiKeysRepository } from '../auth/api-keys.repository';
import { Transactions } from '../outbox/transactions';
import { ApiKeyErrors } from './api-keys.errors';

/** Revokes one of the tenant's keys at once (idempotent); another tenant's key is "not found". */
@Injectable()
export class RevokeApiKeyUseCase {
  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, keyId: string): Promise<void> {
    await this.transactions.run(async (trx) => {
      const revoked = await this.keys.revoke(trx, caller.tenantId, keyId, new Date());
      if (!revoked) throw ApiKeyErrors.notFound();
      await this.audit.append(trx, caller.tenantId, [
        { action: 'apikey.revoked', actor: caller.actor, subject: keyActor(keyId), outcome: 'allowed' },
      ]);
    });
  }
}
