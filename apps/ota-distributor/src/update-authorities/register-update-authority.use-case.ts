import { Injectable } from '@nestjs/common';
import type { UpdateAuthorityView } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { Transactions } from '../outbox/transactions';
import { UpdateAuthorityErrors } from './update-authorities.errors';
import { UpdateAuthoritiesRepository } from './update-authorities.repository';
import { parseUpdateAuthorityKey } from './update-authority-key';
import { updateAuthorityView } from './update-authority.view';

export interface RegisteredUpdateAuthority {
  authority: UpdateAuthorityView;
  /** False when the key was registered already (answered as it is). */
  created: boolean;
}

/**
 * Registers one of the tenant's update authorities: the P-256 public key its offline signing CLI signs
 * manifests with. Public keys only: anything carrying a private key is refused, audited by its code
 * alone, and nothing of it is stored or logged. A revoked key cannot be registered again.
 */
@Injectable()
export class RegisterUpdateAuthorityUseCase {
  constructor(
    private readonly authorities: UpdateAuthoritiesRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, publicKeyPem: string): Promise<RegisteredUpdateAuthority> {
    const parsed = parseUpdateAuthorityKey(publicKeyPem);
    if (!parsed.ok) {
      await this.transactions.run((trx) =>
        this.audit.append(trx, caller.tenantId, [
          {
            action: 'ota.update-authority-refused',
            actor: caller.actor,
            subject: 'update-authority',
            outcome: 'refused',
            detail: { code: parsed.refusal },
          },
        ]),
      );
      throw UpdateAuthorityErrors.refused(parsed.refusal);
    }
    const now = new Date();
    return this.transactions.run(async (trx) => {
      const { row, created } = await this.authorities.insert(trx, {
        tenantId: caller.tenantId,
        keyId: parsed.keyId,
        publicKeyPem: parsed.publicKeyPem,
        at: now,
      });
      if (row.revoked_at !== null) throw UpdateAuthorityErrors.revoked();
      if (created)
        await this.audit.append(trx, caller.tenantId, [
          {
            action: 'ota.update-authority-registered',
            actor: caller.actor,
            subject: row.key_id,
            outcome: 'allowed',
          },
        ]);
      return { authority: updateAuthorityView(row), created };
    });
  }
}
