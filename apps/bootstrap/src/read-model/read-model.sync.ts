import { randomUUID } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ENROLLMENT_DEVICES, ENROLLMENT_TRUST_ANCHORS } from '@meterkeep/contracts';
import { type EventConsumerOptions, type KafkaClient, TopicFollower } from '@meterkeep/kafka';
import { KAFKA_CLIENT } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import { LOGGER } from '@meterkeep/service-runtime';
import { ReadModelStore } from './read-model.store';

/** Tuning of the read model's consumer (tests shorten its timeouts). */
export interface ReadModelOptions {
  /** Consumer groups are `<prefix>-<generation>`. */
  groupPrefix: string;
  /** How often the generation and catch-up markers are checked. */
  checkIntervalMs: number;
  consumer?: Partial<
    Pick<
      EventConsumerOptions,
      'sessionTimeout' | 'heartbeatInterval' | 'rebalanceTimeout' | 'maxWaitTimeInMs' | 'retry'
    >
  >;
}
export const READ_MODEL_OPTIONS = Symbol('bootstrap:read-model-options');

export type ReadModelState = 'starting' | 'catching-up' | 'caught-up';

/** How long a stopping service waits for a check under way. */
const STOP_WAIT_MS = 2_000;

/**
 * Keeps the Redis read model fed from the compacted enrollment topics, and rebuilds it when Redis
 * lost it. Each generation (a random id stored in Redis) is one consumer group reading from offset 0;
 * replicas share it. When the generation key is gone (Redis flushed or restarted empty), the first
 * replica to notice starts a new one and every replica follows it: the topics are read again from the
 * start. Once every partition has been handled (by any replica: positions are kept in Redis) up to the
 * end offsets seen when this process began following, the epoch marker is written (or found); until
 * then a miss is "not yet known", never a final refusal.
 */
@Injectable()
export class ReadModelSync implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private generation: string | undefined;
  private follower: TopicFollower | undefined;
  private reachedTargets = false;
  private caughtUp = false;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private stopped = false;
  private failing = false;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    private readonly store: ReadModelStore,
    @Inject(READ_MODEL_OPTIONS) private readonly options: ReadModelOptions,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  get state(): ReadModelState {
    if (!this.generation) return 'starting';
    return this.caughtUp ? 'caught-up' : 'catching-up';
  }

  /** Starts following in the background: joining a group can take a session timeout, start-up must not. */
  onApplicationBootstrap(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.options.checkIntervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    // A check may be joining a group: stop its consumer rather than wait for the join.
    await this.follower?.stop();
    await Promise.race([this.checking, new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())]);
    await this.follower?.stop();
  }

  /**
   * Whether a miss in the read model is final: its generation has caught up and the marker is still
   * there (a flush removes it). Reads the marker live, and starts a check when it is gone.
   */
  async isCaughtUp(): Promise<boolean> {
    if (!this.caughtUp) {
      void this.check();
      return false;
    }
    let epoch: string | null;
    try {
      epoch = await this.store.epoch();
    } catch {
      return false;
    }
    if (epoch !== this.generation) {
      this.caughtUp = false;
      void this.check();
      return false;
    }
    return true;
  }

  /** One check at a time: follow the current generation, and mark it caught up when it is. */
  check(): Promise<void> {
    this.checking ??= this.runCheck().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async runCheck(): Promise<void> {
    if (this.stopped) return;
    try {
      const generation = await this.store.currentGeneration(randomUUID());
      // A consumer that gave up (kafkajs will not restart it) is replaced, in the same generation.
      if (this.follower?.state === 'crashed') this.generation = undefined;
      if (generation !== this.generation) await this.follow(generation);
      // Caught up once the end offsets seen when this process began following are handled (by any
      // replica of the group): a replica restarting after a while does not trust an old marker alone.
      const targets = this.follower?.endOffsets;
      if (!this.reachedTargets && targets)
        this.reachedTargets = await this.store.reached(generation, targets);
      if (!this.reachedTargets) {
        this.caughtUp = false;
      } else {
        if ((await this.store.epoch()) !== generation) await this.store.markCaughtUp(generation);
        const caughtUp = (await this.store.epoch()) === generation;
        if (caughtUp && !this.caughtUp) this.logger.info({ generation }, 'read model: caught up');
        this.caughtUp = caughtUp;
      }
      if (this.failing) this.logger.info('read model: checks succeed again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn({ err: error }, 'read model: check failed; will retry');
      this.failing = true;
    }
  }

  /** Leaves the current generation's group and reads the topics from the start in the new one. */
  private async follow(generation: string): Promise<void> {
    const previous = this.generation;
    this.logger.info(
      { generation, previous },
      previous ? 'read model: lost; rebuilding it from the compacted topics' : 'read model: following',
    );
    this.caughtUp = false;
    this.reachedTargets = false;
    await this.follower?.stop();
    this.follower = undefined;
    this.generation = undefined;
    if (this.stopped) return;
    const position = (topic: string, meta: { partition: number; offset: string }) => ({
      generation,
      topic,
      partition: meta.partition,
      offset: meta.offset,
    });
    const follower = new TopicFollower({
      kafka: this.kafka,
      groupId: `${this.options.groupPrefix}-${generation}`,
      logger: this.logger.child({ component: 'read-model-consumer' }),
      partitionsConsumedConcurrently: ENROLLMENT_DEVICES.partitions + ENROLLMENT_TRUST_ANCHORS.partitions,
      ...this.options.consumer,
      onDeadLettered: (meta) =>
        void this.store
          .passed(position(meta.topic, meta))
          .catch((error: unknown) =>
            this.logger.warn({ err: error }, 'read model: could not record a dead-lettered position'),
          ),
    })
      .subscribe(ENROLLMENT_DEVICES, async (event, meta) => {
        await this.store.putDevice(event, position(ENROLLMENT_DEVICES.name, meta));
      })
      .subscribe(ENROLLMENT_TRUST_ANCHORS, async (event, meta) => {
        await this.store.putAnchor(event, position(ENROLLMENT_TRUST_ANCHORS.name, meta));
      });
    this.follower = follower;
    this.generation = generation;
    try {
      // Takes the end offsets the generation must reach, then joins its group from the first record.
      await follower.start();
    } catch (error) {
      // Not following anything: the next check tries again.
      this.follower = undefined;
      this.generation = undefined;
      throw error;
    }
  }
}
