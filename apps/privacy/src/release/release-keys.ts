import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { DataKey } from '@meterkeep/reading-seal';
import type { Executor, OccupancyRow } from '../core/database';
import { DataKeyCipher } from '../data-keys/data-key-cipher';
import { KekRing } from '../key-epochs/kek-ring';
import { ReleaseRepository } from './release.repository';

/**
 * One AES-256 key per (occupancy, recipient, purpose) for the values the gate releases, made on first
 * use and wrapped under the current KEK epoch like a data key: destroying it shreds that purpose's
 * released copies without touching the occupancy's readings.
 */
@Injectable()
export class ReleaseKeys {
  constructor(
    private readonly repository: ReleaseRepository,
    private readonly ring: KekRing,
  ) {}

  /**
   * Inside the release's transaction, which holds the occupancy's lock: one maker at a time. A key
   * destroyed (the purpose withdrawn, or the occupancy erased) is never used again: a purpose granted
   * again gets a new key, and an erased occupancy is released no more (the gate checks its readings key).
   */
  async forPurpose(
    trx: Executor,
    occupancy: OccupancyRow,
    recipient: string,
    purpose: string,
  ): Promise<DataKey> {
    const binding = (keyId: string) => ({
      tenantId: occupancy.tenant_id,
      meterId: occupancy.meter_id,
      keyId,
    });
    const existing = await this.repository.findLiveReleaseKey(
      trx,
      occupancy.occupancy_id,
      recipient,
      purpose,
    );
    if (existing) {
      const key = await this.ring.unwrap(
        { wrappedKey: existing.wrapped_key!, kekEpoch: existing.kek_epoch },
        binding(existing.key_id),
        trx,
      );
      return { keyId: existing.key_id, key };
    }
    const keyId = `rk-${randomUUID()}`;
    const key = DataKeyCipher.generate();
    const stored = await this.ring.wrap(trx, key, binding(keyId));
    await this.repository.insertReleaseKey(trx, {
      key_id: keyId,
      tenant_id: occupancy.tenant_id,
      meter_id: occupancy.meter_id,
      occupancy_id: occupancy.occupancy_id,
      recipient,
      purpose,
      wrapped_key: stored.wrappedKey,
      kek_epoch: stored.kekEpoch,
    });
    return { keyId, key };
  }
}
