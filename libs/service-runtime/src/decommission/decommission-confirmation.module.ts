import { randomUUID } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  type DecommissionStepService,
  ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
  ENROLLMENT_DECOMMISSION_REQUESTS,
  type EnrollmentDecommissionConfirmationEvent,
  type EnrollmentDecommissionRequestEvent,
} from '@meterkeep/contracts';
import { EventConsumer, EventProducer, type KafkaClient } from '@meterkeep/kafka';
import { KAFKA_CLIENT } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import { defaultReplicaName } from '../erasure/erasure-confirmation.module';
import { LOGGER } from '../service-core.module';

/** What a service did for its step of a decommissioning: its outcome, a short reason, listed facts. */
export interface DecommissionAnswer {
  outcome: EnrollmentDecommissionConfirmationEvent['outcome'];
  detail: string;
  facts?: EnrollmentDecommissionConfirmationEvent['facts'];
}

export interface DecommissionConfirmationOptions {
  /** The confirming service (also its consumer group's prefix, which its Kafka ACLs allow). */
  service: DecommissionStepService;
  /** This replica's name; the host name (a pod's name) by default. */
  instance?: string;
  /**
   * Does the service's step for the meter (idempotently: the saga asks again until it has an answer)
   * and says what it did; `pending` when it cannot be done yet (the saga asks again later).
   */
  answer: (event: EnrollmentDecommissionRequestEvent) => Promise<DecommissionAnswer> | DecommissionAnswer;
  /** The consumer group; `<service>-decommissions` by default (one per deployment: a store of record). */
  groupId?: string;
}

const OPTIONS = Symbol('meterkeep:decommission-confirmation-options');

/**
 * A service's step of a decommissioning saga, as the erasure confirmer does for erasures: on
 * enrollment.decommission-requests.v1 (one group for the deployment: the step changes the service's
 * store of record, not a replica's cache) it runs the service's answer and confirms on
 * enrollment.decommission-confirmations.v1. An answer that throws is not confirmed: the consumer retries
 * it, and the saga keeps asking while the confirmation is missing.
 */
@Injectable()
export class DecommissionConfirmer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer: EventConsumer | undefined;
  readonly instance: string;

  constructor(
    @Inject(OPTIONS) private readonly options: DecommissionConfirmationOptions,
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(EventProducer) private readonly producer: Pick<EventProducer, 'publishMany'>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.instance = options.instance ?? defaultReplicaName(options.service);
  }

  onApplicationBootstrap(): void {
    this.consumer = new EventConsumer({
      kafka: this.kafka,
      groupId: this.options.groupId ?? `${this.options.service}-decommissions`,
      logger: this.logger.child({ component: 'decommission-confirmer' }),
      fromBeginning: true,
      maxWaitTimeInMs: 500,
    }).subscribe(ENROLLMENT_DECOMMISSION_REQUESTS, (event) => this.confirm(event));
    void this.consumer.start().catch((error: unknown) => {
      this.logger.error({ err: error }, 'decommission confirmer: not following its requests topic');
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }

  /** Does the step for one request and confirms it (a failure to confirm is retried by the consumer). */
  async confirm(event: EnrollmentDecommissionRequestEvent): Promise<void> {
    const { outcome, detail, facts } = await this.options.answer(event);
    await this.producer.publishMany(ENROLLMENT_DECOMMISSION_CONFIRMATIONS, [
      {
        eventId: randomUUID(),
        tenantId: event.tenantId,
        occurredAt: new Date().toISOString(),
        decommissionId: event.decommissionId,
        deviceId: event.deviceId,
        service: this.options.service,
        instance: this.instance,
        outcome,
        attempt: event.attempt,
        detail: detail.slice(0, 512),
        ...(facts !== undefined && { facts }),
      },
    ]);
    this.logger.info(
      { decommissionId: event.decommissionId, deviceId: event.deviceId, outcome, attempt: event.attempt },
      'decommission: step confirmed',
    );
  }
}

/**
 * Confirms decommissioning steps for a service (its PlatformModule must list
 * ENROLLMENT_DECOMMISSION_REQUESTS and ENROLLMENT_DECOMMISSION_CONFIRMATIONS among its topics).
 * `imports` lets the answer's factory reach the service's own providers.
 */
@Module({})
export class DecommissionConfirmationModule {
  static forRootAsync(options: {
    imports?: DynamicModule['imports'];
    inject?: unknown[];
    useFactory: (...args: never[]) => DecommissionConfirmationOptions;
  }): DynamicModule {
    return {
      module: DecommissionConfirmationModule,
      imports: options.imports ?? [],
      providers: [
        {
          provide: OPTIONS,
          useFactory: options.useFactory as (...args: unknown[]) => DecommissionConfirmationOptions,
          inject: (options.inject ?? []) as never[],
        },
        DecommissionConfirmer,
      ],
      exports: [DecommissionConfirmer],
    };
  }
}
