import { type DynamicModule, Module } from '@nestjs/common';
import {
  AUDIT_EVENTS,
  BOOTSTRAP_ISSUING_CAS,
  BOOTSTRAP_OPERATIONAL_CERTIFICATES,
  DEVICE_LIFECYCLE,
  ENROLLMENT_API_KEY_REVOCATIONS,
  ENROLLMENT_DEVICES,
  OTA_CAMPAIGNS_V2,
  OTA_DEVICE_STATUS_V2,
  OTA_FIRMWARE,
  ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
  ENROLLMENT_DECOMMISSION_REQUESTS,
  PRIVACY_CONFIRMATIONS,
  PRIVACY_ERASURE_REQUESTS,
} from '@meterkeep/contracts';
import { DeviceDirectoryModule } from '@meterkeep/device-directory/nest';
import type { KafkaTransport } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import {
  type ConsumerTuning,
  DecommissionConfirmationModule,
  ErasureConfirmationModule,
  PlatformModule,
  ServiceCoreModule,
  consumerTransport,
  peerCertificateChain,
} from '@meterkeep/service-runtime';
import { OperatorAuthModule } from '@meterkeep/service-runtime/operator-auth';
import { AuditModule } from './audit/audit.module';
import { CampaignsModule } from './campaigns/campaigns.module';
import { ComplianceModule } from './compliance/compliance.module';
import type { OtaDistributorConfig } from './config';
import { FIRMWARE_STORAGE } from './core/tokens';
import { DeploymentsModule } from './deployments/deployments.module';
import { DeviceApiModule } from './device-api/device-api.module';
import { DEVICE_API_SETTINGS, type DeviceApiSettings, loadDirectiveKey } from './device-api/directive-key';
import { type Clock, DEVICE_EDGE_CLOCK } from './device-api/device-edge';
import { DeviceClassesModule } from './device-classes/device-classes.module';
import { ApplyDeviceStateUseCase } from './devices/apply-device-state.use-case';
import { DevicesModule } from './devices/devices.module';
import { CHECK_IN_VIEWS_SETTINGS, type CheckInViewsSettings } from './executions/check-in-views';
import { CheckInViewsModule } from './executions/check-in-views.module';
import type { FirmwareStorageOptions } from './images/firmware-store';
import { ImagesModule } from './images/images.module';
import { ManifestsModule } from './manifests/manifests.module';
import { erasureConfirmation } from './erasures/erasure-confirmation';
import { migrations } from './migrations';
import { OutboxModule } from './outbox/outbox.module';
import { UpdateAuthoritiesModule } from './update-authorities/update-authorities.module';

export const SERVICE_NAME = 'ota-distributor';
/** The PostgreSQL schema of the distributor's tables (spec §5.4). */
export const SCHEMA = 'ota';
/** The consumer group of the device projection (enrollment.devices.v1, device.lifecycle.v1). */
export const CONSUMER_GROUP = 'ota-distributor';
const CONSUMER_MAX_WAIT_MS = 1_000;

export interface AppOptions {
  /** The PostgreSQL schema; `ota` unless a test isolates itself. */
  schema?: string;
  /** The clock the device edge judges certificates by; the system's unless a test moves it. */
  clock?: Clock;
  /** False: the device directory is not fed (tests of the "not known yet" answer). */
  followDeviceTopics?: boolean;
  /** How soon the check-in views' listener reconnects after a loss (tests hold it down a while). */
  checkInReconnectMs?: number;
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
            OTA_DEVICE_STATUS_V2,
            OTA_CAMPAIGNS_V2,
            ENROLLMENT_DEVICES,
            DEVICE_LIFECYCLE,
            BOOTSTRAP_OPERATIONAL_CERTIFICATES,
            BOOTSTRAP_ISSUING_CAS,
            PRIVACY_ERASURE_REQUESTS,
            PRIVACY_CONFIRMATIONS,
            ENROLLMENT_DECOMMISSION_REQUESTS,
            ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
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
            {
              provide: CHECK_IN_VIEWS_SETTINGS,
              useValue: {
                url: config.DATABASE_URL,
                schema: options.schema ?? SCHEMA,
                maxEntries: config.OTA_CHECK_IN_CACHE_ENTRIES,
                instanceId: config.OTA_INSTANCE_ID,
                reconnectMs: options.checkInReconnectMs,
              } satisfies CheckInViewsSettings,
            },
            {
              provide: DEVICE_API_SETTINGS,
              // Read and checked at start-up: a missing or wrong key stops the service, naming the variable.
              useFactory: (): DeviceApiSettings => ({
                directiveKey: loadDirectiveKey(config.OTA_DIRECTIVE_KEY_FILE),
                directiveTtlSeconds: config.OTA_DIRECTIVE_TTL_SECONDS,
                pollSeconds: config.OTA_POLL_SECONDS,
                downloadUrlTtlSeconds: config.OTA_DOWNLOAD_URL_TTL_SECONDS,
                downloadUrlReissueSeconds: config.OTA_DOWNLOAD_URL_REISSUE_SECONDS,
              }),
            },
          ],
        }),
        DeviceDirectoryModule.forRoot({
          groupIdPrefix: `${SERVICE_NAME}-directory-${config.OTA_INSTANCE_ID}`,
          logger,
          peerChain: (socket) => peerCertificateChain(socket as Parameters<typeof peerCertificateChain>[0]),
          follow: options.followDeviceTopics ?? true,
        }),
        CheckInViewsModule,
        OutboxModule,
        AuditModule,
        OperatorAuthModule.forRoot({ service: SERVICE_NAME, enrollmentUrl: config.ENROLLMENT_INTERNAL_URL }),
        DeviceClassesModule,
        ComplianceModule,
        UpdateAuthoritiesModule,
        ImagesModule,
        ManifestsModule,
        DevicesModule,
        DeploymentsModule,
        CampaignsModule,
        DeviceApiModule,
        ErasureConfirmationModule.forRoot(erasureConfirmation(config.OTA_INSTANCE_ID)),
        DecommissionConfirmationModule.forRootAsync({
          imports: [DevicesModule],
          inject: [ApplyDeviceStateUseCase],
          useFactory: (devices: ApplyDeviceStateUseCase) => ({
            service: 'ota-distributor',
            instance: config.OTA_INSTANCE_ID,
            // One group per deployment (schema): the step changes the store of record.
            groupId:
              options.schema === undefined || options.schema === SCHEMA
                ? `${SERVICE_NAME}-decommissions`
                : `${SERVICE_NAME}-decommissions-${options.schema}`,
            answer: (event) => devices.decommission(event),
          }),
        }),
      ],
    };
  }
}

/** The Kafka consumer feeding the device projection's @KafkaEventPattern handlers. */
export function deviceEventsTransport(
  config: OtaDistributorConfig,
  logger: Logger,
  overrides: ConsumerTuning = {},
): KafkaTransport {
  return consumerTransport({
    service: SERVICE_NAME,
    config,
    logger,
    groupId: CONSUMER_GROUP,
    contracts: [ENROLLMENT_DEVICES, DEVICE_LIFECYCLE],
    // A stopping consumer waits for its idle fetch: keep that short, the drain budget is shared.
    maxWaitTimeInMs: CONSUMER_MAX_WAIT_MS,
    ...overrides,
  });
}
