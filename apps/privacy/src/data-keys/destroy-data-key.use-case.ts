import { Injectable } from '@nestjs/common';
import { countErasure } from '../core/erasure-metrics';
import { PRIVACY_OCCUPANCIES } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { ReleaseRepository } from '../release/release.repository';
import { DataKeyErrors } from './data-keys.errors';
import type { DestroyedDataKey } from './data-keys.schemas';
import { DataKeysRepository } from './data-keys.repository';
import { keyDestroyedEvent } from './key-destroyed.event';

/**
 * Crypto-shredding: wipes the wrapped key, so every copy of what it encrypted (Kafka, S3) becomes
 * unreadable at once. Backups of this database still hold the wrapped key until its KEK epoch is
 * destroyed (KekRing): a residual copy until then. Idempotent: destroying a destroyed key answers its
 * first destruction.
 */
@Injectable()
export class DestroyDataKeyUseCase {
  constructor(
    private readonly keys: DataKeysRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    private readonly release: ReleaseRepository,
  ) {}

  async execute(caller: Caller, keyId: string): Promise<DestroyedDataKey> {
    const now = new Date();
    let destroyedNow = false;
    const key = await this.transactions.run(async (trx) => {
      destroyedNow = false;
      const current = await this.keys.lock(trx, caller.tenantId, keyId);
      if (!current) throw DataKeyErrors.notFound();
      if (current.destroyed_at !== null) return current;
      const destroyed = await this.keys.destroy(trx, keyId, now);
      // The release gate deletes the occupancy's staged readings (values in the clear) at its next pass.
      if (destroyed.occupancy_id !== null) await this.release.markDue(trx, [destroyed.occupancy_id]);
      await this.outbox.enqueue(trx, PRIVACY_OCCUPANCIES, [keyDestroyedEvent(destroyed, now)]);
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'privacy.data-key-destroyed',
          actor: caller.actor,
          subject: keyId,
          outcome: 'allowed',
          detail: {
            meterId: destroyed.meter_id,
            ...(destroyed.occupancy_id !== null && { occupancyId: destroyed.occupancy_id }),
          },
        },
      ]);
      destroyedNow = true;
      return destroyed;
    });
    // Counted once committed; asking again for a destroyed key is not another erasure.
    if (destroyedNow) countErasure('data-key');
    return { keyId: key.key_id, destroyedAt: key.destroyed_at!.toISOString() };
  }
}
