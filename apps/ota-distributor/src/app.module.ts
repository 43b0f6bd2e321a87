import { type DynamicModule, Module } from '@nestjs/common';
import {
  AUDIT_EVENTS,
  BOOTSTRAP_ISSUING_CAS,
  BOOTSTRAP_OPERATIONAL_CERTIFICATES,
  ENROLLMENT_API_KEY_REVOCATIONS,
  ENROLLMENT_DEVICES,
  OTA_FIRMWARE,
} from '@meterkeep/contracts';
import { DeviceDirectoryModule } from '@meterkeep/device-directory/nest';
import type { Logger } from '@meterkeep/observability';
import { PlatformModule, ServiceCoreModule, peerCertificateChain } from '@meterkeep/service-runtime';
import { OperatorAuthModule } from '@meterkeep/service-runtime/operator-auth';
import { AuditModule } from './audit/audit.module';
import type { OtaDistributorConfig } from './config';
import { FIRMWARE_STORAGE } from './core/tokens';
import { DeviceApiModule } from './device-api/device-api.module';
import { type Clock, DEVICE_EDGE_CLOCK } from './device-api/device-edge';
import { DeviceClassesModule } from './device-classes/device-classes.module';
import type { FirmwareStorageOptions } from './images/firmware-store';
import { ImagesModule } from './images/images.module';
import { ManifestsModule } from './manifests/manifests.module';
import { migrations } from './migrations';
import { OutboxModule } from './outbox/outbox.module';
import { UpdateAuthoritiesModule } from './update-authorities/update-authorities.module';

export const SERVICE_NAME = 'ota-distributor';
/** The PostgreSQL schema of the distributor's tables (spec §5.4). */
export const SCHEMA = 'ota';

export interface AppOptions {
  /** The PostgreSQL schema; `ota` unless a test isolates itself. */
  schema?: string;
  /** The clock the device edge judges certificates by; the system's unless a test moves it. */
  clock?: Clock;
  /** False: the device directory is not fed (tests of the "not known yet" answer). */
  followDeviceTopics?: boolean;
}

@Module({})
export class AppModule {
  static forRoot(config: OtaDistributorConfig, logger: Logger, options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forRoot({
          service: SERVICE_NAME,
          config,
          logger,
          migrations,
          topics: [
            AUDIT_EVENTS,
            ENROLLMENT_API_KEY_REVOCATIONS,
            OTA_FIRMWARE,
            ENROLLMENT_DEVICES,
            BOOTSTRAP_OPERATIONAL_CERTIFICATES,
            BOOTSTRAP_ISSUING_CAS,
          ],
          schema: options.schema ?? SCHEMA,
        }),
        ServiceCoreModule.forRoot({
          config,
          logger,
          providers: [
            {
              provide: FIRMWARE_STORAGE,
              useValue: {
                bucket: config.OTA_FIRMWARE_BUCKET,
                uploadUrlExpirySeconds: config.OTA_UPLOAD_URL_EXPIRY_SECONDS,
              } satisfies FirmwareStorageOptions,
            },
            { provide: DEVICE_EDGE_CLOCK, useValue: options.clock ?? (() => new Date()) },
          ],
        }),
        DeviceDirectoryModule.forRoot({
          groupIdPrefix: `${SERVICE_NAME}-directory-${config.OTA_INSTANCE_ID}`,
          logger,
          peerChain: (socket) => peerCertificateChain(socket as Parameters<typeof peerCertificateChain>[0]),
          follow: options.followDeviceTopics ?? true,
        }),
        OutboxModule,
        AuditModule,
        OperatorAuthModule.forRoot({ service: SERVICE_NAME, enrollmentUrl: config.ENROLLMENT_INTERNAL_URL }),
        DeviceClassesModule,
        UpdateAuthoritiesModule,
        ImagesModule,
        ManifestsModule,
        DeviceApiModule,
      ],
    };
  }
}
