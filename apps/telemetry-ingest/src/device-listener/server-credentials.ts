import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import {
  CONFIG,
  DeviceServerCredentials,
  LOGGER,
  SERVICE_CREDENTIAL,
  type ServiceCredential,
} from '@meterkeep/service-runtime';
import type { TelemetryIngestConfig } from '../config';

/**
 * The device listener's TLS identity: TELEMETRY_TLS_CERT_FILE/KEY_FILE, or by default a short-lived
 * certificate from bootstrap's internal route (see DeviceServerCredentials).
 */
@Injectable()
export class ServerCredentials extends DeviceServerCredentials {
  constructor(
    @Inject(CONFIG) config: TelemetryIngestConfig,
    @Inject(SERVICE_CREDENTIAL) credential: ServiceCredential,
    @Inject(LOGGER) logger: Logger,
  ) {
    super({
      hostnames: config.TELEMETRY_TLS_HOSTNAMES,
      certFile: config.TELEMETRY_TLS_CERT_FILE,
      keyFile: config.TELEMETRY_TLS_KEY_FILE,
      bootstrapUrl: config.BOOTSTRAP_INTERNAL_URL,
      credential,
      logger,
    });
  }
}
