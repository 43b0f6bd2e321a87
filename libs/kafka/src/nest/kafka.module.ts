import type { TopicContract } from '@meterkeep/contracts';
import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { EventProducer } from '../event-producer';
import { type KafkaClientOptions, createKafkaClient } from '../kafka-client';
import { KafkaHealthProbe } from '../kafka-health';
import { type EnsureTopicsOptions, ensureTopics } from '../topic-admin';

export interface KafkaModuleOptions extends KafkaClientOptions {
  /** The topics this service publishes to or consumes; start-up fails when one is missing on the broker. */
  contracts: readonly TopicContract[];
  /** Create missing topics (and dead-letter topics) at start-up: for local runs and tests. */
  ensureTopics?: boolean | EnsureTopicsOptions;
  healthTimeoutMs?: number;
}

export const KAFKA_MODULE_OPTIONS = Symbol('KAFKA_MODULE_OPTIONS');
/** The shared kafkajs client, for the few places that need one (an EventConsumer, a KafkaTransport). */
export const KAFKA_CLIENT = Symbol('KAFKA_CLIENT');
/** The KafkaHealthProbe as a HealthProbe, for readiness endpoints that collect probes by token. */
export const KAFKA_HEALTH_PROBE = Symbol('KAFKA_HEALTH_PROBE');

/** Connects the producer before the app serves, disconnects it after consumers have drained. */
@Injectable()
class KafkaLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(KAFKA_MODULE_OPTIONS) private readonly options: KafkaModuleOptions,
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    @Inject(EventProducer) private readonly producer: EventProducer,
    @Inject(KafkaHealthProbe) private readonly probe: KafkaHealthProbe,
  ) {}

  async onModuleInit(): Promise<void> {
    const { ensureTopics: ensure, contracts } = this.options;
    if (ensure) {
      await ensureTopics(this.kafka, contracts, { deadLetter: true, ...(ensure === true ? {} : ensure) });
    }
    await this.producer.connect();
  }

  // Transports close before shutdown hooks run, so no handler is still publishing here.
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.producer.disconnect(), this.probe.close()]);
  }
}

@Global()
@Module({})
export class KafkaModule {
  static forRoot(options: KafkaModuleOptions): DynamicModule {
    return {
      module: KafkaModule,
      global: true,
      providers: [
        { provide: KAFKA_MODULE_OPTIONS, useValue: options },
        { provide: KAFKA_CLIENT, useFactory: () => createKafkaClient(options) },
        {
          provide: EventProducer,
          useFactory: (kafka: Kafka) =>
            new EventProducer({ kafka, logger: options.logger, contracts: options.contracts }),
          inject: [KAFKA_CLIENT],
        },
        {
          provide: KafkaHealthProbe,
          useFactory: () =>
            new KafkaHealthProbe({
              clientId: options.clientId,
              brokers: options.brokers,
              ssl: options.ssl,
              sasl: options.sasl,
              logger: options.logger,
              timeoutMs: options.healthTimeoutMs,
            }),
        },
        { provide: KAFKA_HEALTH_PROBE, useExisting: KafkaHealthProbe },
        KafkaLifecycle,
      ],
      exports: [KAFKA_MODULE_OPTIONS, KAFKA_CLIENT, EventProducer, KafkaHealthProbe, KAFKA_HEALTH_PROBE],
    };
  }
}
