import { type DynamicModule, Module } from '@nestjs/common';
import {
  AUDIT_EVENTS,
  ENROLLMENT_API_KEY_REVOCATIONS,
  PRIVACY_CONSENT_STATE,
  ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
  ENROLLMENT_DECOMMISSION_REQUESTS,
  PRIVACY_CONFIRMATIONS,
  PRIVACY_CONSENTS,
  PRIVACY_ERASURE_REQUESTS,
  PRIVACY_ERASURES,
  PRIVACY_RELEASE_RECALLS,
  PRIVACY_OCCUPANCIES,
  TELEMETRY_READINGS,
  TELEMETRY_RELEASED,
  TELEMETRY_RELEASED_AGGREGATES,
} from '@meterkeep/contracts';
import type { KafkaTransport } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import {
  type ConsumerTuning,
  DecommissionConfirmationModule,
  PlatformModule,
  ServiceCoreModule,
  consumerTransport,
} from '@meterkeep/service-runtime';
import { OperatorAuthModule } from '@meterkeep/service-runtime/operator-auth';
import { AuditModule } from './audit/audit.module';
import type { PrivacyConfig } from './config';
import { ConsentsModule } from './consents/consents.module';
import { DataKeysModule } from './data-keys/data-keys.module';
import { DecommissionOccupancyUseCase } from './decommissions/decommission-occupancy.use-case';
import { DecommissionsModule } from './decommissions/decommissions.module';
import { NetworkCellsModule } from './network-cells/network-cells.module';
import { ErasuresModule } from './erasures/erasures.module';
import { ExportsModule } from './exports/exports.module';
import { migrations } from './migrations';
import { OccupanciesModule } from './occupancies/occupancies.module';
import { OutboxModule } from './outbox/outbox.module';
import { ReleaseModule } from './release/release.module';
import { RELEASE_FROM_BEGINNING, RELEASE_GROUP } from './release/release-group';

export const SERVICE_NAME = 'privacy';
/** The release gate's consumer group on telemetry.readings.v1. */
export { RELEASE_GROUP };

export interface AppOptions {
  /** The PostgreSQL schema; the service's name unless a test isolates itself. */
  schema?: string;
}

@Module({})
export class AppModule {
  static forRoot(config: PrivacyConfig, logger: Logger, options: AppOptions = {}): DynamicModule {
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
            PRIVACY_OCCUPANCIES,
            PRIVACY_CONSENTS,
            PRIVACY_CONSENT_STATE,
            ENROLLMENT_API_KEY_REVOCATIONS,
            TELEMETRY_RELEASED,
            TELEMETRY_RELEASED_AGGREGATES,
            PRIVACY_ERASURE_REQUESTS,
            PRIVACY_CONFIRMATIONS,
            PRIVACY_ERASURES,
            PRIVACY_RELEASE_RECALLS,
            TELEMETRY_READINGS,
            ENROLLMENT_DECOMMISSION_REQUESTS,
            ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
          ],
          ...(options.schema !== undefined && { schema: options.schema }),
        }),
        ServiceCoreModule.forRoot({ config, logger }),
        OutboxModule,
        AuditModule,
        OperatorAuthModule.forRoot({ service: SERVICE_NAME, enrollmentUrl: config.ENROLLMENT_INTERNAL_URL }),
        DataKeysModule,
        OccupanciesModule,
        ConsentsModule,
        NetworkCellsModule,
        ReleaseModule,
        ErasuresModule.forRoot({ schema: options.schema }),
        DecommissionConfirmationModule.forRootAsync({
          imports: [DecommissionsModule],
          inject: [DecommissionOccupancyUseCase],
          useFactory: (step: DecommissionOccupancyUseCase) => ({
            service: 'privacy',
            // One group per deployment (schema): the step changes the store of record.
            groupId:
              options.schema === undefined || options.schema === SERVICE_NAME
                ? `${SERVICE_NAME}-decommissions`
                : `${SERVICE_NAME}-decommissions-${options.schema}`,
            answer: (event) => step.execute(event),
          }),
        }),
        ExportsModule,
      ],
    };
  }
}

/** The Kafka consumer feeding the release gate: sealed readings, opened and staged per occupancy. */
export function releaseTransport(
  config: PrivacyConfig,
  logger: Logger,
  overrides: ConsumerTuning = {},
): KafkaTransport {
  return consumerTransport({
    service: SERVICE_NAME,
    config,
    logger,
    groupId: RELEASE_GROUP,
    // Where the readings backfill stops on a partition the group never committed on.
    fromBeginning: RELEASE_FROM_BEGINNING,
    contracts: [TELEMETRY_READINGS],
    // Records of one meter stay in order; staging is idempotent, so several partitions go at once, each a
    // slice (EventConsumer's maxBatchRecords) per transaction (ReadingsConsumer).
    partitionsConsumedConcurrently: 4,
    ...overrides,
  });
}
