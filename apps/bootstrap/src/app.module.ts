import { type DynamicModule, type INestApplication, Module } from '@nestjs/common';
import {
  BOOTSTRAP_ISSUING_CAS,
  BOOTSTRAP_OPERATIONAL_CERTIFICATES,
  DEVICE_LIFECYCLE,
  ENROLLMENT_DEVICES,
  ENROLLMENT_TRUST_ANCHORS,
  ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
  ENROLLMENT_DECOMMISSION_REQUESTS,
  PRIVACY_CONFIRMATIONS,
  PRIVACY_ERASURE_REQUESTS,
} from '@meterkeep/contracts';
import type { KafkaTransport } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import {
  type ConsumerTuning,
  DecommissionConfirmationModule,
  ErasureConfirmationModule,
  PlatformModule,
  ServiceCoreModule,
  consumerTransport,
  listenerRouting,
} from '@meterkeep/service-runtime';
import { BootstrapModule } from './bootstrap/bootstrap.module';
import { CertificatesModule } from './certificates/certificates.module';
import { DecommissionCertificatesUseCase } from './certificates/decommission-certificates.use-case';
import type { BootstrapConfig } from './config';
import { KeySealer } from './core/key-sealer';
import { DeviceListenerModule } from './device-listener/device-listener.module';
import { servesPath } from './device-listener/listener-routes';
import { erasureConfirmation } from './erasures/erasure-confirmation';
import { migrations } from './migrations';
import { setupOpenApi } from './openapi/openapi';
import { PkiModule } from './pki/pki.module';
import { ReadModelModule } from './read-model/read-model.module';
import type { ReadModelOptions } from './read-model/read-model.sync';
import { ServerCertificatesModule } from './server-certificates/server-certificates.module';

export const SERVICE_NAME = 'bootstrap';
/** The consumer group of the lifecycle consumer (revocation). */
export const CONSUMER_GROUP = 'bootstrap';
/** The read model's consumer groups are `bootstrap-read-model-<generation>`. */
export const READ_MODEL_GROUP_PREFIX = 'bootstrap-read-model';
const CONSUMER_MAX_WAIT_MS = 1_000;

/** One group per deployment (database schema): the step changes the store of record. */
export const decommissionGroupFor = (schema: string | undefined) =>
  schema === undefined || schema === SERVICE_NAME
    ? 'bootstrap-decommissions'
    : `bootstrap-decommissions-${schema}`;

export interface AppOptions {
  /** The PostgreSQL schema; the service's name unless a test isolates itself. */
  schema?: string;
  readModel?: Partial<ReadModelOptions>;
}

@Module({})
export class AppModule {
  static forRoot(config: BootstrapConfig, logger: Logger, options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forRoot({
          service: SERVICE_NAME,
          config,
          logger,
          migrations,
          topics: [
            BOOTSTRAP_ISSUING_CAS,
            BOOTSTRAP_OPERATIONAL_CERTIFICATES,
            DEVICE_LIFECYCLE,
            ENROLLMENT_DEVICES,
            ENROLLMENT_TRUST_ANCHORS,
            PRIVACY_ERASURE_REQUESTS,
            PRIVACY_CONFIRMATIONS,
            ENROLLMENT_DECOMMISSION_REQUESTS,
            ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
          ],
          ...(options.schema !== undefined && { schema: options.schema }),
        }),
        ServiceCoreModule.forRoot({
          config,
          logger,
          providers: [{ provide: KeySealer, useFactory: () => new KeySealer(config.BOOTSTRAP_KEK) }],
        }),
        PkiModule,
        ReadModelModule.forRoot({
          groupPrefix: READ_MODEL_GROUP_PREFIX,
          checkIntervalMs: 2_000,
          consumer: { maxWaitTimeInMs: CONSUMER_MAX_WAIT_MS },
          ...options.readModel,
        }),
        CertificatesModule,
        BootstrapModule,
        DeviceListenerModule,
        ServerCertificatesModule,
        ErasureConfirmationModule.forRoot(erasureConfirmation()),
        DecommissionConfirmationModule.forRootAsync({
          imports: [CertificatesModule],
          inject: [DecommissionCertificatesUseCase],
          useFactory: (step: DecommissionCertificatesUseCase) => ({
            service: 'bootstrap',
            groupId: decommissionGroupFor(options.schema),
            answer: (event) => step.execute(event),
          }),
        }),
      ],
    };
  }
}

/**
 * Before the app listens: device routes only on the mutual-TLS listener, internal ones only on the
 * plain one, and the OpenAPI document.
 */
export function configureApp(app: INestApplication): void {
  app.use(listenerRouting(servesPath));
  setupOpenApi(app);
}

/** The Kafka consumer feeding @KafkaEventPattern handlers: lifecycle events that revoke certificates. */
export function lifecycleTransport(
  config: BootstrapConfig,
  logger: Logger,
  overrides: ConsumerTuning = {},
): KafkaTransport {
  return consumerTransport({
    service: SERVICE_NAME,
    config,
    logger,
    groupId: CONSUMER_GROUP,
    contracts: [DEVICE_LIFECYCLE],
    // A stopping consumer waits for its idle fetch: keep that short, the drain budget is shared.
    maxWaitTimeInMs: CONSUMER_MAX_WAIT_MS,
    ...overrides,
  });
}
