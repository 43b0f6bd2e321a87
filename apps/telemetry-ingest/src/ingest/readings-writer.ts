import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { type KafkaClient, type OutgoingRecord, TransactionalProducer } from '@meterkeep/kafka';
import { KAFKA_CLIENT } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import type { TelemetryIngestConfig } from '../config';
import { IngestErrors } from './ingest.errors';

/**
 * The service's Kafka writer: every batch's records go out in a transaction, shared with the batches
 * that arrive meanwhile, and the meter is answered only after that transaction committed. Connected
 * before the device listener opens, so this boot has fenced its predecessor first.
 */
@Injectable()
export class ReadingsWriter implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly producer: TransactionalProducer;

  constructor(
    @Inject(KAFKA_CLIENT) kafka: KafkaClient,
    @Inject(CONFIG) config: TelemetryIngestConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.producer = new TransactionalProducer({
      kafka,
      transactionalId: `telemetry-ingest-${config.TELEMETRY_INSTANCE_ID}`,
      logger: logger.child({ component: 'readings-writer' }),
      transactionTimeoutMs: config.TELEMETRY_TRANSACTION_TIMEOUT_MS,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.ready();
    this.logger.info('readings writer: transactional producer ready');
  }

  /** Connected, and this replica's previous boot fenced (idempotent). */
  ready(): Promise<void> {
    return this.producer.connect();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.producer.disconnect();
  }

  /** Sent only if its transaction starts by `notAfterMs`: the meter's lock must outlive the write. */
  async write(records: OutgoingRecord[], notAfterMs: number): Promise<void> {
    try {
      await this.producer.write(records, { notAfterMs });
    } catch (error) {
      this.logger.warn({ err: error }, 'batch not written; the meter will retry');
      throw IngestErrors.kafkaUnavailable();
    }
  }
}
