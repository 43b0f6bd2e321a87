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
} from '@meterkeep/contracts';
import { type KafkaClient, TopicFollower } from '@meterkeep/kafka';
import { KAFKA_CLIENT } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import { CONFIG, LOGGER, ServiceState } from '@meterkeep/service-runtime';
import type { TelemetryIngestConfig } from '../config';
import { DeviceDirectory } from './device-directory';

const RETRY_MS = 2_000;

/**
 * Feeds the in-memory directory from the compacted topics, from their first record, in a consumer
 * group of its own (every replica needs every record). Caught up once each partition has been read
 * up to the end it had when this process started; until then, a meter the directory does not know
 * is told to retry, never refused for good.
 */
@Injectable()
export class DirectorySync implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private follower: TopicFollower | undefined;
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
        this.isCaughtUp ? Promise.resolve() : Promise.reject(new Error('still reading the device topics')),
    });
  }

  get isCaughtUp(): boolean {
    return this.follower?.caughtUp ?? false;
  }

  onApplicationBootstrap(): void {
    void this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.follower?.stop();
  }

  private async start(): Promise<void> {
    if (this.stopped) return;
    const follower = new TopicFollower({
      kafka: this.kafka,
      groupId: `telemetry-ingest-directory-${this.config.TELEMETRY_INSTANCE_ID}-${randomUUID()}`,
      logger: this.logger.child({ component: 'directory-consumer' }),
      maxWaitTimeInMs: 500,
      partitionsConsumedConcurrently: 6,
      onCaughtUp: () => this.logger.info({ ...this.directory.size }, 'directory: caught up'),
    })
      .subscribe(ENROLLMENT_DEVICES, (event) => this.directory.putDevice(event))
      .subscribe(BOOTSTRAP_OPERATIONAL_CERTIFICATES, (event) => this.directory.putCertificate(event))
      .subscribe(BOOTSTRAP_ISSUING_CAS, (event) => this.directory.putIssuingCa(event));
    this.follower = follower;
    try {
      await follower.start();
    } catch (error) {
      this.logger.warn({ err: error }, 'directory: could not start following the topics; will retry');
      await follower.stop().catch(() => undefined);
      this.follower = undefined;
      this.timer = setTimeout(() => void this.start(), RETRY_MS);
      this.timer.unref();
    }
  }
}
