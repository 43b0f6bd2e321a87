import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import {
  CONFIG,
  DeviceServerCredentials,
  LOGGER,
  SERVICE_CREDENTIAL,
  type ServiceCredential,
} from '@meterkeep/service-runtime';
import type { OtaDistributorConfig } from '../config';

/**
 * The device listener's TLS identity: OTA_TLS_CERT_FILE/KEY_FILE, or by default a short-lived
 * certificate from bootstrap's internal route (see DeviceServerCredentials), as telemetry-ingest's.
 */
@Injectable()
export class ServerCredentials extends DeviceServerCredentials {
  constructor(
    @Inject(CONFIG) config: OtaDistributorConfig,
    @Inject(SERVICE_CREDENTIAL) credential: ServiceCredential,
    @Inject(LOGGER) logger: Logger,
  ) {
    super({
      hostnames: config.OTA_TLS_HOSTNAMES,
      certFile: config.OTA_TLS_CERT_FILE,
      keyFile: config.OTA_TLS_KEY_FILE,
      bootstrapUrl: config.BOOTSTRAP_INTERNAL_URL,
      credential,
      logger,
    });
  }
}
