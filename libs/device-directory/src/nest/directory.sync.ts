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
import type { HealthProbe } from '@meterkeep/observability';
import { DeviceDirectory } from '../device-directory';
import { DEVICE_DIRECTORY_OPTIONS, type DeviceDirectoryOptions } from './device-directory.options';

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
    @Inject(DEVICE_DIRECTORY_OPTIONS) private readonly options: DeviceDirectoryOptions,
  ) {}

  get isCaughtUp(): boolean {
    return this.follower?.caughtUp ?? false;
  }

  /** Not ready before the directory knows every meter: until then they would all be told to retry. */
  readonly probe: HealthProbe = {
    name: 'directory',
    check: () =>
      this.isCaughtUp ? Promise.resolve() : Promise.reject(new Error('still reading the device topics')),
  };

  onApplicationBootstrap(): void {
    if (this.options.follow === false) return;
    void this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.follower?.stop();
  }

  private async start(): Promise<void> {
    if (this.stopped) return;
    const logger = this.options.logger;
    const follower = new TopicFollower({
      kafka: this.kafka,
      groupId: `${this.options.groupIdPrefix}-${randomUUID()}`,
      logger: logger.child({ component: 'directory-consumer' }),
      maxWaitTimeInMs: 500,
      partitionsConsumedConcurrently: 6,
      onCaughtUp: () => logger.info({ ...this.directory.size }, 'directory: caught up'),
    })
      .subscribe(ENROLLMENT_DEVICES, (event) => this.directory.putDevice(event))
      .subscribe(BOOTSTRAP_OPERATIONAL_CERTIFICATES, (event) => this.directory.putCertificate(event))
      .subscribe(BOOTSTRAP_ISSUING_CAS, (event) => this.directory.putIssuingCa(event));
    this.follower = follower;
    try {
      await follower.start();
    } catch (error) {
      logger.warn({ err: error }, 'directory: could not start following the topics; will retry');
      await follower.stop().catch(() => undefined);
      this.follower = undefined;
      this.timer = setTimeout(() => void this.start(), RETRY_MS);
      this.timer.unref();
    }
  }
}
