import { Injectable } from '@nestjs/common';
import { ENROLLMENT_TRUST_ANCHORS } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { toManufacturerCaView } from './manufacturer-ca.view';
import { ManufacturerCaErrors } from './manufacturer-cas.errors';
import { ManufacturerCasRepository } from './manufacturer-cas.repository';
import type { ManufacturerCaView } from './manufacturer-cas.schemas';
import { trustAnchorEvent } from './trust-anchor.event';

/**
 * Stops trusting a CA: meters whose factory certificates chain to it can no longer bootstrap (bootstrap
 * hears DISABLED on the compacted trust-anchor topic). Idempotent; a disabled CA stays disabled.
 */
@Injectable()
export class DisableManufacturerCaUseCase {
  constructor(
    private readonly cas: ManufacturerCasRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, caId: string): Promise<ManufacturerCaView> {
    const now = new Date();
    const ca = await this.transactions.run(async (trx) => {
      const current = await this.cas.lock(trx, caller.tenantId, caId);
      if (!current) throw ManufacturerCaErrors.notFound();
      if (current.status === 'DISABLED') return current;
      const disabled = await this.cas.update(trx, caId, {
        status: 'DISABLED',
        verification_code_sha256: null,
        verification_expires_at: null,
        disabled_at: now,
        updated_at: now,
      });
      // A CA that was never trusted was never published: there is nothing for bootstrap to forget.
      if (current.status === 'TRUSTED')
        await this.outbox.enqueue(trx, ENROLLMENT_TRUST_ANCHORS, [
          trustAnchorEvent(disabled, 'DISABLED', now),
        ]);
      await this.audit.append(trx, caller.tenantId, [
        { action: 'ca.disabled', actor: caller.actor, subject: caId, outcome: 'allowed' },
      ]);
      return disabled;
    });
    return toManufacturerCaView(ca);
  }
}
