import { randomUUID } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  BOOTSTRAP_ISSUING_CAS,
  BOOTSTRAP_OPERATIONAL_CERTIFICATES,
  ENROLLMENT_DEVICES,
  type TopicContract,
} from '@meterkeep/contracts';
import { EventConsumer, type EventConsumerOptions } from '@meterkeep/kafka';
import { KAFKA_CLIENT } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import { ServiceState } from '@meterkeep/service-runtime';
import type { TelemetryIngestConfig } from '../config';
import { CONFIG, LOGGER } from '../core/tokens';
import { DeviceDirectory } from './device-directory';

type KafkaClient = EventConsumerOptions['kafka'];

const TOPICS: readonly TopicContract[] = [
  ENROLLMENT_DEVICES,
  BOOTSTRAP_OPERATIONAL_CERTIFICATES,
  BOOTSTRAP_ISSUING_CAS,
];
const RETRY_MS = 2_000;

/**
 * Feeds the in-memory directory from the compacted topics, from their first record, in a consumer
 * group of its own (every replica needs every record). Caught up once each partition has been read
 * up to the end it had when this process started; until then, a meter the directory does not know
 * is told to retry, never refused for good.
 */
@Injectable()
export class DirectorySync implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer: EventConsumer | undefined;
  private targets: Map<string, number> | undefined;
  private readonly reached = new Map<string, number>();
  private caughtUp = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly directory: DeviceDirectory,
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(CONFIG) private readonly config: TelemetryIngestConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    state: ServiceState,
  ) {
    // Not ready before the directory knows every meter: until then they would all be told to retry.
    state.addProbe({
      name: 'directory',
      check: () =>
        this.caughtUp ? Promise.resolve() : Promise.reject(new Error('still reading the device topics')),
    });
  }

  get isCaughtUp(): boolean {
    return this.caughtUp;
  }

  onApplicationBootstrap(): void {
    void this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.consumer?.stop();
  }

  private async start(): Promise<void> {
    if (this.stopped) return;
    try {
      this.targets = await this.endOffsets();
      const consumer = new EventConsumer({
        kafka: this.kafka,
        groupId: `telemetry-ingest-directory-${this.config.TELEMETRY_INSTANCE_ID}-${randomUUID()}`,
        logger: this.logger.child({ component: 'directory-consumer' }),
        fromBeginning: true,
        maxWaitTimeInMs: 500,
        partitionsConsumedConcurrently: 6,
      })
        .subscribe(ENROLLMENT_DEVICES, (event, meta) => {
          this.directory.putDevice(event);
          this.handled(ENROLLMENT_DEVICES.name, meta);
        })
        .subscribe(BOOTSTRAP_OPERATIONAL_CERTIFICATES, (event, meta) => {
          this.directory.putCertificate(event);
          this.handled(BOOTSTRAP_OPERATIONAL_CERTIFICATES.name, meta);
        })
        .subscribe(BOOTSTRAP_ISSUING_CAS, (event, meta) => {
          this.directory.putIssuingCa(event);
          this.handled(BOOTSTRAP_ISSUING_CAS.name, meta);
        });
      this.consumer = consumer;
      await consumer.start();
      this.checkCaughtUp();
    } catch (error) {
      this.logger.warn({ err: error }, 'directory: could not start following the topics; will retry');
      await this.consumer?.stop().catch(() => undefined);
      this.consumer = undefined;
      this.timer = setTimeout(() => void this.start(), RETRY_MS);
      this.timer.unref();
    }
  }

  private handled(topic: string, meta: { partition: number; offset: string }): void {
    this.reached.set(`${topic}:${meta.partition}`, Number(meta.offset));
    if (!this.caughtUp) this.checkCaughtUp();
  }

  private checkCaughtUp(): void {
    if (this.caughtUp || !this.targets) return;
    for (const [partition, last] of this.targets) if ((this.reached.get(partition) ?? -1) < last) return;
    this.caughtUp = true;
    this.logger.info({ ...this.directory.size }, 'directory: caught up');
  }

  private async endOffsets(): Promise<Map<string, number>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const targets = new Map<string, number>();
      for (const topic of TOPICS)
        for (const { partition, low, high } of await admin.fetchTopicOffsets(topic.name))
          if (Number(high) > Number(low)) targets.set(`${topic.name}:${partition}`, Number(high) - 1);
      return targets;
    } finally {
      await admin.disconnect();
    }
  }
}
