import { randomUUID } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  PRIVACY_CONFIRMATIONS,
  PRIVACY_ERASURE_REQUESTS,
  type PrivacyErasureRequestEvent,
} from '@meterkeep/contracts';
import { EventConsumer, EventProducer, type KafkaClient, startGroupAtCurrentEnd } from '@meterkeep/kafka';
import { KAFKA_CLIENT } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import type { TelemetryIngestConfig } from '../config';
import { KeyRing } from './key-ring';

/**
 * The ingest's part of an erasure saga: what it holds in the clear about a subject is the plain data
 * keys of their meters in the key ring. On privacy.erasure-requests.v1 (each replica in a group of its
 * own, from when it started) it drops them and confirms on privacy.confirmations.v1 as this replica.
 * A request it missed while down is asked again by the saga, which never assumes an answer.
 */
@Injectable()
export class ErasurePurge implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer: EventConsumer | undefined;

  constructor(
    @Inject(KeyRing) private readonly keyRing: Pick<KeyRing, 'forgetMeters'>,
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(EventProducer) private readonly producer: Pick<EventProducer, 'publishMany'>,
    @Inject(CONFIG) private readonly config: Pick<TelemetryIngestConfig, 'TELEMETRY_INSTANCE_ID'>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const groupId = `telemetry-ingest-erasures-${this.config.TELEMETRY_INSTANCE_ID}-${randomUUID()}`;
    await startGroupAtCurrentEnd(this.kafka, groupId, [PRIVACY_ERASURE_REQUESTS.name]);
    this.consumer = new EventConsumer({
      kafka: this.kafka,
      groupId,
      logger: this.logger.child({ component: 'erasure-purge' }),
      fromBeginning: true,
      maxWaitTimeInMs: 500,
    }).subscribe(PRIVACY_ERASURE_REQUESTS, (event) => this.purge(event));
    void this.consumer.start().catch((error: unknown) => {
      this.logger.error({ err: error }, 'erasure purge: not following privacy.erasure-requests.v1');
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }

  /** Drops the meters' cached keys, then confirms (a failure to confirm is retried by the consumer). */
  async purge(event: PrivacyErasureRequestEvent): Promise<void> {
    const dropped = this.keyRing.forgetMeters(event.tenantId, event.meterIds);
    await this.producer.publishMany(PRIVACY_CONFIRMATIONS, [
      {
        eventId: randomUUID(),
        tenantId: event.tenantId,
        occurredAt: new Date().toISOString(),
        requestId: event.requestId,
        service: 'telemetry-ingest',
        instance: this.config.TELEMETRY_INSTANCE_ID,
        outcome: 'completed',
        detail: `key cache purged for ${event.meterIds.length} meter(s) (${dropped} cached); attempt ${event.attempt}`,
      },
    ]);
    this.logger.info(
      { requestId: event.requestId, meters: event.meterIds.length, dropped },
      'erasure: key cache purged, confirmed',
    );
  }
}
