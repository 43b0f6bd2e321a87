import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  PRIVACY_CONFIRMATIONS,
  PRIVACY_ERASURE_REQUESTS,
  type PrivacyConfirmationEvent,
  type PrivacyErasureRequestEvent,
} from '@meterkeep/contracts';
import { EventConsumer, EventProducer, type KafkaClient, startGroupAtCurrentEnd } from '@meterkeep/kafka';
import { KAFKA_CLIENT } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import { LOGGER } from '../service-core.module';

/** What a service did with an erasure request: its outcome and a short, honest reason. */
export interface ErasureAnswer {
  outcome: PrivacyConfirmationEvent['outcome'];
  detail: string;
}

export interface ErasureConfirmationOptions {
  /** The confirming service (its name is also its consumer groups' prefix, which its Kafka ACLs allow). */
  service: PrivacyConfirmationEvent['service'];
  /** This replica's name; the host name (a pod's name) by default. */
  instance?: string;
  /** Purges what the service holds in the clear about the request's meters, and says what it did. */
  answer: (event: PrivacyErasureRequestEvent) => Promise<ErasureAnswer> | ErasureAnswer;
}

const OPTIONS = Symbol('meterkeep:erasure-confirmation-options');

/** A replica's default name: its host name, reduced to the characters a confirmation's instance allows. */
export function defaultReplicaName(service: string): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 100) || service
  );
}

/**
 * A service's part of an erasure saga: on privacy.erasure-requests.v1 (each replica in a group of its
 * own, from when it started) it runs the service's answer and confirms on privacy.confirmations.v1 as
 * this replica, attempt after attempt (the saga asks again while an answer is missing, never assumes one).
 * An answer that throws is not confirmed: the consumer retries it, and the saga keeps asking.
 */
@Injectable()
export class ErasureConfirmer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer: EventConsumer | undefined;
  readonly instance: string;

  constructor(
    @Inject(OPTIONS) private readonly options: ErasureConfirmationOptions,
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(EventProducer) private readonly producer: Pick<EventProducer, 'publishMany'>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.instance = options.instance ?? defaultReplicaName(options.service);
  }

  async onApplicationBootstrap(): Promise<void> {
    const groupId = `${this.options.service}-erasures-${this.instance}-${randomUUID()}`;
    await startGroupAtCurrentEnd(this.kafka, groupId, [PRIVACY_ERASURE_REQUESTS.name]);
    this.consumer = new EventConsumer({
      kafka: this.kafka,
      groupId,
      logger: this.logger.child({ component: 'erasure-confirmer' }),
      fromBeginning: true,
      maxWaitTimeInMs: 500,
    }).subscribe(PRIVACY_ERASURE_REQUESTS, (event) => this.confirm(event));
    void this.consumer.start().catch((error: unknown) => {
      this.logger.error({ err: error }, 'erasure confirmer: not following privacy.erasure-requests.v1');
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }

  /** Answers one request and confirms it (a failure to confirm is retried by the consumer). */
  async confirm(event: PrivacyErasureRequestEvent): Promise<void> {
    const { outcome, detail } = await this.options.answer(event);
    await this.producer.publishMany(PRIVACY_CONFIRMATIONS, [
      {
        eventId: randomUUID(),
        tenantId: event.tenantId,
        occurredAt: new Date().toISOString(),
        requestId: event.requestId,
        service: this.options.service,
        instance: this.instance,
        outcome,
        detail: `${detail}; attempt ${event.attempt}`.slice(0, 512),
      },
    ]);
    this.logger.info(
      { requestId: event.requestId, meters: event.meterIds.length, outcome },
      'erasure: confirmed',
    );
  }
}

/**
 * Confirms erasures for a service (its PlatformModule must list PRIVACY_ERASURE_REQUESTS and
 * PRIVACY_CONFIRMATIONS among its topics).
 */
@Module({})
export class ErasureConfirmationModule {
  static forRoot(options: ErasureConfirmationOptions): DynamicModule {
    return {
      module: ErasureConfirmationModule,
      providers: [{ provide: OPTIONS, useValue: options }, ErasureConfirmer],
      exports: [ErasureConfirmer],
    };
  }
}
