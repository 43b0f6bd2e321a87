import { kafkaSecurity } from '@meterkeep/config';
import type { TopicContract } from '@meterkeep/contracts';
import { KafkaTransport, type KafkaTransportOptions } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import type { PlatformConfig } from './platform.module';

/** Consumer settings a service or its tests may tune: group, concurrency, timeouts, retries. */
export type ConsumerTuning = Partial<Omit<KafkaTransportOptions, 'kafka' | 'contracts'>>;

export interface ConsumerTransportOptions extends ConsumerTuning {
  /** The service's name: its consumer's Kafka client id is `<KAFKA_CLIENT_ID or name>-consumer`. */
  service: string;
  config: Omit<PlatformConfig, 'KAFKA_BROKERS'> & { KAFKA_BROKERS: string[] };
  logger: Logger;
  groupId: string;
  /** The topics its @KafkaEventPattern handlers consume. */
  contracts: readonly TopicContract[];
}

/**
 * The Kafka consumer that feeds a service's @KafkaEventPattern handlers (runMain's `transports`): a
 * client of its own beside the producer's, logging as `kafka-consumer`.
 */
export function consumerTransport({
  service,
  config,
  logger,
  ...options
}: ConsumerTransportOptions): KafkaTransport {
  return new KafkaTransport({
    kafka: {
      clientId: `${config.KAFKA_CLIENT_ID ?? service}-consumer`,
      brokers: config.KAFKA_BROKERS,
      ...kafkaSecurity(config),
    },
    logger: logger.child({ component: 'kafka-consumer' }),
    ...options,
  });
}
