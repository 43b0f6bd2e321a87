import { type DynamicModule, Module } from '@nestjs/common';
import {
  AUDIT_EVENTS,
  DEVICE_LIFECYCLE,
  ENROLLMENT_API_KEY_REVOCATIONS,
  ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
  ENROLLMENT_DECOMMISSION_REQUESTS,
  ENROLLMENT_DEVICES,
  ENROLLMENT_TRUST_ANCHORS,
  PRIVACY_CONFIRMATIONS,
  PRIVACY_ERASURE_REQUESTS,
} from '@meterkeep/contracts';
import type { KafkaTransport } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import {
  type ConsumerTuning,
  ErasureConfirmationModule,
  PlatformModule,
  ServiceCoreModule,
  consumerTransport,
} from '@meterkeep/service-runtime';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import type { EnrollmentConfig } from './config';
import { DecommissionsModule } from './decommissions/decommissions.module';
import { DevicesModule } from './devices/devices.module';
import { PskCipher } from './devices/psk-cipher';
import { EnrollmentListsModule } from './enrollment-lists/enrollment-lists.module';
import { ManufacturerCasModule } from './manufacturer-cas/manufacturer-cas.module';
import { erasureConfirmation } from './erasures/erasure-confirmation';
import { migrations } from './migrations';
import { OutboxModule } from './outbox/outbox.module';
import { TenantsModule } from './tenants/tenants.module';

export const SERVICE_NAME = 'enrollment';
/** The consumer group of the lifecycle consumer. */
export const CONSUMER_GROUP = 'enrollment';

export interface AppOptions {
  /** The PostgreSQL schema; the service's name unless a test isolates itself. */
  schema?: string;
}

@Module({})
export class AppModule {
  static forRoot(config: EnrollmentConfig, logger: Logger, options: AppOptions = {}): DynamicModule {
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
            DEVICE_LIFECYCLE,
            ENROLLMENT_DEVICES,
            ENROLLMENT_TRUST_ANCHORS,
            ENROLLMENT_API_KEY_REVOCATIONS,
            ENROLLMENT_DECOMMISSION_REQUESTS,
            ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
            PRIVACY_ERASURE_REQUESTS,
            PRIVACY_CONFIRMATIONS,
          ],
          ...(options.schema !== undefined && { schema: options.schema }),
        }),
        ServiceCoreModule.forRoot({
          config,
          logger,
          providers: [{ provide: PskCipher, useFactory: () => new PskCipher(config.ENROLLMENT_PSK_KEK) }],
        }),
        OutboxModule,
        AuditModule,
        AuthModule,
        TenantsModule,
        ApiKeysModule,
        ManufacturerCasModule,
        DecommissionsModule.forRoot(options.schema),
        DevicesModule,
        EnrollmentListsModule,
        ErasureConfirmationModule.forRoot(erasureConfirmation()),
      ],
    };
  }
}

/** The Kafka consumer feeding @KafkaEventPattern handlers: bootstrap's lifecycle events. */
export function lifecycleTransport(
  config: EnrollmentConfig,
  logger: Logger,
  overrides: ConsumerTuning = {},
): KafkaTransport {
  return consumerTransport({
    service: SERVICE_NAME,
    config,
    logger,
    groupId: CONSUMER_GROUP,
    contracts: [DEVICE_LIFECYCLE],
    // One event per partition at a time (order per meter), all partitions at once: the events in
    // flight together are recorded in one transaction (RecordDeviceBootstrapUseCase).
    partitionsConsumedConcurrently: DEVICE_LIFECYCLE.partitions,
    ...overrides,
  });
}
