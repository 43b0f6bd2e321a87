import { Injectable } from '@nestjs/common';
import type { UpdateAuthorityView } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { Transactions } from '../outbox/transactions';
import { UpdateAuthorityErrors } from './update-authorities.errors';
import { UpdateAuthoritiesRepository } from './update-authorities.repository';
import { updateAuthorityView } from './update-authority.view';

/** Revokes an update authority for good. Idempotent: a revoked key answers its first revocation. */
@Injectable()
export class RevokeUpdateAuthorityUseCase {
  constructor(
    private readonly authorities: UpdateAuthoritiesRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  execute(caller: Caller, keyId: string): Promise<UpdateAuthorityView> {
    return this.transactions.run(async (trx) => {
      const current = await this.authorities.lock(trx, caller.tenantId, keyId);
      if (!current) throw UpdateAuthorityErrors.notFound();
      if (current.revoked_at !== null) return updateAuthorityView(current);
      const revoked = await this.authorities.revoke(trx, caller.tenantId, keyId, new Date());
      await this.audit.append(trx, caller.tenantId, [
        { action: 'ota.update-authority-revoked', actor: caller.actor, subject: keyId, outcome: 'allowed' },
      ]);
      return updateAuthorityView(revoked);
    });
  }
}
