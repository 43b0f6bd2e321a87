import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { DataKeyRow, Executor } from '../core/database';
import { KekRing } from '../key-epochs/kek-ring';
import { DataKeyCipher } from './data-key-cipher';
import { DataKeyErrors } from './data-keys.errors';
import { DataKeysRepository } from './data-keys.repository';

export const newKeyId = () => `dk-${randomUUID()}`;

/**
 * Makes data keys and opens them: a key is generated here, stored only wrapped under the current KEK
 * epoch (KekRing), and unwrapped only to be handed to an authorised internal caller.
 */
@Injectable()
export class DataKeyVault {
  constructor(
    private readonly keys: DataKeysRepository,
    private readonly ring: KekRing,
  ) {}

  /** A new key for an occupancy, in the transaction that opens it. */
  async createForOccupancy(
    trx: Executor,
    { tenantId, meterId, occupancyId }: { tenantId: string; meterId: string; occupancyId: string },
  ): Promise<DataKeyRow> {
    const keyId = newKeyId();
    const stored = await this.ring.wrap(trx, DataKeyCipher.generate(), { tenantId, meterId, keyId });
    return this.keys.insert(trx, { keyId, tenantId, meterId, occupancyId, ...stored });
  }

  /**
   * A retention key of an occupancy for one purpose (Art. 17(3)(b)): what must be kept past an erasure is
   * sealed under it, and it is destroyed automatically at `retainUntil`. One per occupancy × purpose.
   */
  async createRetentionKey(
    trx: Executor,
    {
      tenantId,
      meterId,
      occupancyId,
      purpose,
      retainUntil,
    }: { tenantId: string; meterId: string; occupancyId: string; purpose: string; retainUntil: Date },
  ): Promise<DataKeyRow> {
    const existing = await this.keys.findRetentionKey(trx, occupancyId, purpose);
    if (existing) return existing;
    const keyId = newKeyId();
    const stored = await this.ring.wrap(trx, DataKeyCipher.generate(), { tenantId, meterId, keyId });
    return this.keys.insert(trx, {
      keyId,
      tenantId,
      meterId,
      occupancyId,
      ...stored,
      retention: { purpose, retainUntil },
    });
  }

  /** The meter's own key (for times no occupancy covers), made on first use. */
  async meterKey(tenantId: string, meterId: string): Promise<DataKeyRow> {
    const existing = await this.keys.findLiveMeterKey(tenantId, meterId);
    if (existing) return existing;
    const keyId = newKeyId();
    await this.keys.insertMeterKeyIfMissing(async (trx) => ({
      keyId,
      tenantId,
      meterId,
      occupancyId: null,
      ...(await this.ring.wrap(trx, DataKeyCipher.generate(), { tenantId, meterId, keyId })),
    }));
    const created = await this.keys.findLiveMeterKey(tenantId, meterId);
    if (!created) throw new Error('the meter key vanished as it was made (destroyed at once?)');
    return created;
  }

  /** The plain key; KEY_DESTROYED once it was destroyed. */
  open(
    key: Pick<DataKeyRow, 'tenant_id' | 'meter_id' | 'key_id' | 'wrapped_key' | 'kek_epoch'>,
  ): Promise<Buffer> {
    if (key.wrapped_key === null) return Promise.reject(DataKeyErrors.destroyed());
    return this.ring.unwrap(
      { wrappedKey: key.wrapped_key, kekEpoch: key.kek_epoch },
      {
        tenantId: key.tenant_id,
        meterId: key.meter_id,
        keyId: key.key_id,
      },
    );
  }
}
