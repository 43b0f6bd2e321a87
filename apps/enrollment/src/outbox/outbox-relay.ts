import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { sql } from 'kysely';
import {
  AUDIT_EVENTS,
  DEVICE_LIFECYCLE,
  ENROLLMENT_DEVICES,
  ENROLLMENT_TRUST_ANCHORS,
  type EventEnvelope,
  type TopicContract,
} from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import { EventProducer } from '@meterkeep/kafka';
import type { Logger } from '@meterkeep/observability';
import type { Executor } from '../core/database';
import { LOGGER } from '../core/tokens';
import { type OutboxRecord, OutboxRepository } from './outbox.repository';

/** The topics this service publishes through its outbox. */
export const OUTBOX_TOPICS: readonly TopicContract[] = [
  ENROLLMENT_DEVICES,
  ENROLLMENT_TRUST_ANCHORS,
  DEVICE_LIFECYCLE,
  AUDIT_EVENTS,
];

const POLL_MS = 200;
const BATCH = 1_000;
const MAX_BACKOFF_MS = 10_000;
/** How long a stopping relay keeps publishing what is left. */
const FINAL_DRAIN_MS = 2_000;

/** Wakes the relay after a commit, so events leave at once rather than at the next poll. */
export abstract class OutboxNudge {
  abstract nudge(): void;
}

/**
 * Publishes the outbox in id order: one replica at a time (a transaction-scoped advisory lock), a
 * batch per transaction, rows deleted in the transaction that saw them acknowledged by Kafka. A crash
 * between publish and commit publishes the batch again: consumers dedupe on eventId.
 */
@Injectable()
export class OutboxRelay extends OutboxNudge implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly contracts = new Map(OUTBOX_TOPICS.map((contract) => [contract.name, contract]));
  private loop: Promise<void> | undefined;
  private stopped = true;
  private pending = false;
  private wake: (() => void) | undefined;
  private failures = 0;

  constructor(
    @Inject(DATABASE) private readonly db: Executor,
    private readonly producer: EventProducer,
    private readonly outbox: OutboxRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.stopped = false;
    this.loop = this.run();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    const deadline = Date.now() + FINAL_DRAIN_MS;
    try {
      while (Date.now() < deadline && (await this.relayBatch()) > 0);
    } catch (error) {
      this.logger.warn({ err: error }, 'outbox: final drain failed; the rest leaves after restart');
    }
  }

  nudge(): void {
    this.pending = true;
    this.wake?.();
  }

  /** Publishes one batch; returns how many events it published (0 when another replica holds the lock). */
  async relayBatch(): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ locked: boolean }>`
        select pg_try_advisory_xact_lock(hashtext(current_schema() || '.outbox-relay')) as locked`.execute(
        trx,
      );
      if (!rows[0]?.locked) return 0;
      const batch = await this.outbox.nextBatch(trx, BATCH);
      for (const run of runsByTopic(batch)) {
        const contract = this.contracts.get(run.topic);
        if (!contract)
          throw new Error(`outbox holds an event for ${run.topic}, which this service does not publish`);
        await this.producer.publishMany(contract, run.payloads as EventEnvelope[]);
      }
      await this.outbox.remove(
        trx,
        batch.map((record) => record.id),
      );
      return batch.length;
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let published = 0;
      try {
        published = await this.relayBatch();
        if (this.failures > 0) this.logger.info({ failures: this.failures }, 'outbox: publishing again');
        this.failures = 0;
      } catch (error) {
        this.failures++;
        this.logger.warn({ err: error, failures: this.failures }, 'outbox: publish failed; will retry');
      }
      if (published === BATCH && this.failures === 0) continue;
      const delay = this.failures > 0 ? Math.min(POLL_MS * 2 ** this.failures, MAX_BACKOFF_MS) : POLL_MS;
      await this.sleep(delay);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.pending && this.failures === 0) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}

/** Consecutive records of one topic, in order: each run is one publish request. */
function runsByTopic(batch: readonly OutboxRecord[]): { topic: string; payloads: unknown[] }[] {
  const runs: { topic: string; payloads: unknown[] }[] = [];
  for (const record of batch) {
    const last = runs.at(-1);
    if (last?.topic === record.topic) last.payloads.push(record.payload);
    else runs.push({ topic: record.topic, payloads: [record.payload] });
  }
  return runs;
}
