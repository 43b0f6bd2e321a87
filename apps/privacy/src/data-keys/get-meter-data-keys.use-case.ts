import { Injectable } from '@nestjs/common';
import { DataKeyVault } from './data-key-vault';
import type { MeterDataKeys } from '@meterkeep/contracts';
import { DataKeysRepository } from './data-keys.repository';

/**
 * For ingest: every key a meter's readings may need. A reading is encrypted under the key of the
 * occupancy whose [from, to) covers its time, else under the meter key; a destroyed occupancy key means
 * readings of that period are refused. The meter key is made on the first request.
 */
@Injectable()
export class GetMeterDataKeysUseCase {
  constructor(
    private readonly keys: DataKeysRepository,
    private readonly vault: DataKeyVault,
  ) {}

  async execute(tenantId: string, meterId: string): Promise<MeterDataKeys> {
    const meterKey = await this.vault.meterKey(tenantId, meterId);
    const occupancies = await this.keys.occupancyKeysForMeter(tenantId, meterId);
    const open = async (row: { key_id: string; wrapped_key: Buffer | null; kek_epoch: number }) =>
      (await this.vault.open({ tenant_id: tenantId, meter_id: meterId, ...row })).toString('base64');
    return {
      tenantId,
      meterId,
      occupancies: await Promise.all(
        occupancies.map(async (row) => {
          const destroyed = row.wrapped_key === null;
          return {
            occupancyId: row.occupancy_id,
            keyId: row.key_id,
            from: row.valid_from.toISOString(),
            to: row.valid_to?.toISOString() ?? null,
            ...(!destroyed && { key: await open(row) }),
            destroyed,
          };
        }),
      ),
      meterKey: { keyId: meterKey.key_id, key: await open(meterKey) },
    };
  }
}
