import { Injectable } from '@nestjs/common';
import { DataKeyVault } from './data-key-vault';
import { DataKeyErrors } from './data-keys.errors';
import type { DataKey } from '@meterkeep/contracts';
import { DataKeysRepository } from './data-keys.repository';

/** One key by id, for an authorised consumer decrypting readings; KEY_DESTROYED (410) once shredded. */
@Injectable()
export class GetDataKeyUseCase {
  constructor(
    private readonly keys: DataKeysRepository,
    private readonly vault: DataKeyVault,
  ) {}

  async execute(tenantId: string, keyId: string): Promise<DataKey> {
    const key = await this.keys.find(tenantId, keyId);
    if (!key) throw DataKeyErrors.notFound();
    return {
      keyId: key.key_id,
      meterId: key.meter_id,
      occupancyId: key.occupancy_id,
      key: this.vault.open(key).toString('base64'),
    };
  }
}
