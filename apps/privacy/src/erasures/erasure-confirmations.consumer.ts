import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { PRIVACY_CONFIRMATIONS } from '@meterkeep/contracts';
import { EventConsumer, type KafkaClient } from '@meterkeep/kafka';
import { KAFKA_CLIENT } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import { LOGGER } from '@meterkeep/service-runtime';
import { ErasureSaga } from './erasure-saga';
import { ErasuresRepository } from './erasures.repository';

/** The consumer group id: one per database schema (all replicas of one deployment share it). */
export const CONFIRMATIONS_GROUP = Symbol('CONFIRMATIONS_GROUP');
export const confirmationsGroupFor = (schema: string | undefined) =>
  schema === undefined || schema === 'privacy'
    ? 'privacy-erasure-confirmations'
    : `privacy-erasure-confirmations-${schema}`;

/**
 * Collects every service's part of an erasure from privacy.confirmations.v1 (one group for all
 * replicas) and nudges the saga. A confirmation for an erasure this database does not hold (another
 * deployment's, or a test's) is skipped.
 */
@Injectable()
export class ErasureConfirmationsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer: EventConsumer | undefined;

  constructor(
    private readonly erasures: ErasuresRepository,
    private readonly saga: ErasureSaga,
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CONFIRMATIONS_GROUP) private readonly groupId: string,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = new EventConsumer({
      kafka: this.kafka,
      groupId: this.groupId,
      logger: this.logger.child({ component: 'erasure-confirmations' }),
      fromBeginning: true,
      maxWaitTimeInMs: 500,
    }).subscribe(PRIVACY_CONFIRMATIONS, async (event) => {
      if (!(await this.erasures.exists(event.requestId))) return;
      const recorded = await this.erasures.recordConfirmation({
        erasure_id: event.requestId,
        service: event.service,
        instance: event.instance ?? event.service,
        outcome: event.outcome,
        detail: event.detail ?? null,
        event_id: event.eventId,
        confirmed_at: new Date(event.occurredAt),
      });
      if (recorded) void this.saga.kick(event.requestId);
    });
    await this.consumer.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }
}
