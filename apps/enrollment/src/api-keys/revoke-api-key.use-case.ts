import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ENROLLMENT_API_KEY_REVOCATIONS } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { keyActor } from '../auth/api-key';
import { ApiKeysRepository } from '../auth/api-keys.repository';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { ApiKeyErrors } from './api-keys.errors';

/**
 * Revokes one of the tenant's keys at once (idempotent); another tenant's key is "not found". The
 * revocation is published with it, so services caching introspection answers (privacy) drop the key
 * now rather than when their cache expires; a repeated revocation is published again, harmlessly.
 */
@Injectable()
export class RevokeApiKeyUseCase {
  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, keyId: string): Promise<void> {
    await this.transactions.run(async (trx) => {
      const revoked = await this.keys.revoke(trx, caller.tenantId, keyId, new Date());
      if (!revoked) throw ApiKeyErrors.notFound();
      await this.outbox.enqueue(trx, ENROLLMENT_API_KEY_REVOCATIONS, [
        {
          eventId: randomUUID(),
          tenantId: caller.tenantId,
          occurredAt: (revoked.revoked_at ?? new Date()).toISOString(),
          keyId,
        },
      ]);
      await this.audit.append(trx, caller.tenantId, [
        { action: 'apikey.revoked', actor: caller.actor, subject: keyActor(keyId), outcome: 'allowed' },
      ]);
    });
  }
}
