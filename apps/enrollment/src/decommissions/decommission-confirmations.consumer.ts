import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ENROLLMENT_DECOMMISSION_CONFIRMATIONS } from '@meterkeep/contracts';
import { EventConsumer, type KafkaClient } from '@meterkeep/kafka';
import { KAFKA_CLIENT } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import { LOGGER } from '@meterkeep/service-runtime';
import { DecommissionSaga } from './decommission-saga';
import { DecommissionsRepository } from './decommissions.repository';

/** The consumer group id: one per database schema (all replicas of one deployment share it). */
export const DECOMMISSION_CONFIRMATIONS_GROUP = Symbol('DECOMMISSION_CONFIRMATIONS_GROUP');
export const decommissionConfirmationsGroupFor = (schema: string | undefined) =>
  schema === undefined || schema === 'enrollment'
    ? 'enrollment-decommission-confirmations'
    : `enrollment-decommission-confirmations-${schema}`;

/**
 * Collects each service's step from enrollment.decommission-confirmations.v1 and nudges the saga. A
 * confirmation naming a saga this database does not hold for that tenant and meter (another
 * deployment's, a test's, or a forged tenant) is skipped.
 */
@Injectable()
export class DecommissionConfirmationsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer: EventConsumer | undefined;

  constructor(
    private readonly decommissions: DecommissionsRepository,
    private readonly saga: DecommissionSaga,
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(DECOMMISSION_CONFIRMATIONS_GROUP) private readonly groupId: string,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = new EventConsumer({
      kafka: this.kafka,
      groupId: this.groupId,
      logger: this.logger.child({ component: 'decommission-confirmations' }),
      fromBeginning: true,
      maxWaitTimeInMs: 500,
    }).subscribe(ENROLLMENT_DECOMMISSION_CONFIRMATIONS, async (event) => {
      if (!(await this.decommissions.exists(event.decommissionId, event.tenantId, event.deviceId))) return;
      const changed = await this.decommissions.recordConfirmation({
        decommission_id: event.decommissionId,
        service: event.service,
        instance: event.instance ?? event.service,
        outcome: event.outcome,
        attempt: event.attempt,
        detail: event.detail ?? null,
        facts: event.facts === undefined ? null : JSON.stringify(event.facts),
        event_id: event.eventId,
        confirmed_at: new Date(event.occurredAt),
      });
      if (changed) void this.saga.kick(event.decommissionId);
    });
    await this.consumer.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }
}
