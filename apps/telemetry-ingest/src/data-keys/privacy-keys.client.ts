import { Inject, Injectable } from '@nestjs/common';
import { METER_DATA_KEYS_GET } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { InternalHttpClient, SERVICE_CREDENTIAL, type ServiceCredential } from '@meterkeep/service-runtime';
import type { TelemetryIngestConfig } from '../config';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import { DataKeyErrors } from './data-keys.errors';
import type { MeterKeys } from './meter-keys';

/**
 * The privacy service's key vault, over its internal route METER_DATA_KEYS_GET: never logged, never
 * cached on disk. No usable answer: DataKeyErrors.vaultUnavailable (503, retried).
 */
@Injectable()
export class PrivacyKeysClient {
  private readonly privacy: InternalHttpClient;

  constructor(
    @Inject(CONFIG) config: TelemetryIngestConfig,
    @Inject(SERVICE_CREDENTIAL) credential: ServiceCredential,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.privacy = new InternalHttpClient({
      service: 'privacy',
      baseUrl: config.PRIVACY_INTERNAL_URL,
      credential,
      timeoutMs: 3_000,
      unavailable: DataKeyErrors.vaultUnavailable,
      logger,
    });
  }

  async meterKeys(tenantId: string, meterId: string): Promise<MeterKeys> {
    const answer = await this.privacy.call(METER_DATA_KEYS_GET, { params: { tenantId, meterId } });
    return {
      meterKey: { keyId: answer.meterKey.keyId, key: Buffer.from(answer.meterKey.key, 'base64') },
      occupancies: answer.occupancies.map((o) => ({
        occupancyId: o.occupancyId,
        keyId: o.keyId,
        from: Date.parse(o.from),
        to: o.to ? Date.parse(o.to) : undefined,
        key: o.destroyed || o.key === undefined ? undefined : Buffer.from(o.key, 'base64'),
      })),
    };
  }
}
