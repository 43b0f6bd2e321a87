import { type DynamicModule, type INestApplication, Module } from '@nestjs/common';
import {
  BOOTSTRAP_ISSUING_CAS,
  BOOTSTRAP_OPERATIONAL_CERTIFICATES,
  ENROLLMENT_DEVICES,
  PRIVACY_CONFIRMATIONS,
  PRIVACY_ERASURE_REQUESTS,
  PRIVACY_OCCUPANCIES,
  TELEMETRY_READINGS,
  TELEMETRY_REJECTED,
} from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { DeviceDirectoryModule } from '@meterkeep/device-directory/nest';
import {
  CONFIG,
  PlatformModule,
  ServiceCoreModule,
  listenerRouting,
  peerCertificateChain,
} from '@meterkeep/service-runtime';
import type { TelemetryIngestConfig } from './config';
import { DeviceListenerModule } from './device-listener/device-listener.module';
import { AdmissionGate, SenderAdmission, batchBodyReader } from './ingest/admission';
import { IngestModule } from './ingest/ingest.module';

export const SERVICE_NAME = 'telemetry-ingest';

@Module({})
export class AppModule {
  static forRoot(config: TelemetryIngestConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forRoot({
          service: SERVICE_NAME,
          config,
          logger,
          topics: [
            ENROLLMENT_DEVICES,
            BOOTSTRAP_OPERATIONAL_CERTIFICATES,
            BOOTSTRAP_ISSUING_CAS,
            PRIVACY_OCCUPANCIES,
            PRIVACY_ERASURE_REQUESTS,
            PRIVACY_CONFIRMATIONS,
            TELEMETRY_READINGS,
            TELEMETRY_REJECTED,
          ],
        }),
        ServiceCoreModule.forRoot({ config, logger }),
        DeviceDirectoryModule.forRoot({
          groupIdPrefix: `${SERVICE_NAME}-directory-${config.TELEMETRY_INSTANCE_ID}`,
          logger,
          peerChain: (socket) => peerCertificateChain(socket as Parameters<typeof peerCertificateChain>[0]),
        }),
        IngestModule,
        DeviceListenerModule,
      ],
    };
  }
}

/** The device API only on the mutual-TLS listener, probes only on the plain one. */
export function servesPath(listener: 'device' | 'operator', path: string): boolean {
  if (listener === 'device') return path.startsWith('/tl/');
  return path.startsWith('/health/');
}

/** Before the app listens: listener routing, then the batch body reader (ahead of Nest's parser). */
export function configureApp(app: INestApplication): void {
  app.use(listenerRouting(servesPath));
  const config = app.get<TelemetryIngestConfig>(CONFIG);
  app.use(
    batchBodyReader(app.get(AdmissionGate), app.get(SenderAdmission), config.TELEMETRY_BODY_TIMEOUT_MS),
  );
}
