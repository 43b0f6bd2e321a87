import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { PrivacyConfig } from '../config';
import { Transactions } from '../outbox/transactions';
import { DataKeyVault } from './data-key-vault';
import { DataKeyErrors } from './data-keys.errors';
import { type DataKey, PLATFORM_AUDIT_CHAIN } from '@meterkeep/contracts';
import { DataKeysRepository } from './data-keys.repository';

/**
 * One key by id, for a decrypting consumer granted the tenant (PRIVACY_DATA_KEY_GRANTS): anyone else
 * gets 403 DATA_KEY_NOT_GRANTED. Every answer is audited (the key itself never): a granted read on
 * the tenant's chain; a refusal on the platform's own chain, naming the tenant asked for, since a
 * caller without a grant may name tenants that do not exist. KEY_DESTROYED (410) once shredded.
 */
@Injectable()
export class GetDataKeyUseCase {
  constructor(
    private readonly keys: DataKeysRepository,
    private readonly vault: DataKeyVault,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    @Inject(CONFIG) private readonly config: PrivacyConfig,
  ) {}

  async execute(caller: string, tenantId: string, keyId: string): Promise<DataKey> {
    const granted = this.config.PRIVACY_DATA_KEY_GRANTS[caller]?.includes(tenantId) === true;
    const key = granted ? await this.keys.find(tenantId, keyId) : undefined;
    await this.transactions.run((trx) =>
      this.audit.append(trx, granted ? tenantId : PLATFORM_AUDIT_CHAIN, [
        {
          action: 'privacy.data-key-read',
          actor: `service:${caller}`,
          subject: keyId,
          outcome: granted ? 'allowed' : 'refused',
          detail: granted ? { found: key !== undefined } : { reason: 'DATA_KEY_NOT_GRANTED', tenantId },
        },
      ]),
    );
    if (!granted) throw DataKeyErrors.notGranted(caller, tenantId);
    if (!key) throw DataKeyErrors.notFound();
    return {
      keyId: key.key_id,
      meterId: key.meter_id,
      occupancyId: key.occupancy_id,
      key: (await this.vault.open(key)).toString('base64'),
    };
  }
}
