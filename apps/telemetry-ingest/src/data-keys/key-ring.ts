import { randomUUID } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { PRIVACY_OCCUPANCIES } from '@meterkeep/contracts';
import {
  EventConsumer,
  type KafkaClient,
  fetchEndOffsets,
  partitionKey,
  startGroupAtCurrentEnd,
} from '@meterkeep/kafka';
import { KAFKA_CLIENT } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import type { TelemetryIngestConfig } from '../config';
import { CONFIG, LOGGER, ServiceState } from '@meterkeep/service-runtime';
import type { MeterKeys } from './meter-keys';
import { PrivacyKeysClient } from './privacy-keys.client';

interface Cached {
  keys: Promise<MeterKeys>;
  expiresAt: number;
}

/**
 * Data keys of recently seen meters, held briefly in memory (TELEMETRY_KEY_CACHE_TTL_S) and dropped
 * the moment privacy announces an occupancy change or a key's destruction on privacy.occupancies.v1,
 * which every replica follows in a group of its own, from the end of the topic when it subscribed.
 * It is ready once it has handled every announcement made up to the moment its group joined: one
 * made while it was starting is not lost (a group reset to "latest" would start after it).
 */
@Injectable()
export class KeyRing implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly cache = new Map<string, Cached>();
  private consumer: EventConsumer | undefined;
  /** Per partition, the last offset handled, and (once joined) the last one to handle before serving. */
  private readonly reached = new Map<string, number>();
  private readonly pending = new Map<string, number>();
  private joined = false;
  private caughtUp = false;

  constructor(
    private readonly vault: PrivacyKeysClient,
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(CONFIG) private readonly config: TelemetryIngestConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    state: ServiceState,
  ) {
    // Not ready before it follows the announcements: a key destroyed meanwhile would stay cached (and
    // keep sealing readings) until its TTL ran out.
    state.addProbe({
      name: 'key-ring',
      check: () =>
        this.caughtUp
          ? Promise.resolve()
          : Promise.reject(new Error('not yet following privacy.occupancies.v1 to its end')),
    });
  }

  /** Subscribes at the topic's current end (before any key is cached), then joins in the background. */
  async onApplicationBootstrap(): Promise<void> {
    const groupId = `telemetry-ingest-keys-${this.config.TELEMETRY_INSTANCE_ID}-${randomUUID()}`;
    // What was announced before the group's start is not read again: count it as reached, so only what
    // comes while joining is waited for.
    const start = await startGroupAtCurrentEnd(this.kafka, groupId, [PRIVACY_OCCUPANCIES.name]);
    for (const [partition, last] of start) this.reached.set(partition, last);
    this.consumer = new EventConsumer({
      kafka: this.kafka,
      groupId,
      logger: this.logger.child({ component: 'key-ring-consumer' }),
      fromBeginning: true,
      maxWaitTimeInMs: 500,
    }).subscribe(PRIVACY_OCCUPANCIES, (event, meta) => {
      this.cache.delete(`${event.tenantId}/${event.meterId}`);
      if (event.type === 'key-destroyed')
        this.logger.info({ keyId: event.keyId }, 'data key destroyed: dropped');
      this.handled(partitionKey(meta.topic, meta.partition), Number(meta.offset));
    });
    // In the background: joining a group takes a while; readiness waits for it.
    void this.follow(this.consumer).catch((error: unknown) => {
      this.logger.error(
        { err: error },
        'key ring: not following privacy.occupancies.v1; keys expire by TTL only',
      );
    });
  }

  /** Joins, then takes the end offsets to reach before serving (what was announced while joining). */
  private async follow(consumer: EventConsumer): Promise<void> {
    await consumer.start();
    const ends = await fetchEndOffsets(this.kafka, [PRIVACY_OCCUPANCIES.name]);
    for (const [partition, last] of ends)
      if ((this.reached.get(partition) ?? -1) < last) this.pending.set(partition, last);
    this.joined = true;
    this.checkCaughtUp();
  }

  private handled(partition: string, offset: number): void {
    this.reached.set(partition, offset);
    const last = this.pending.get(partition);
    if (last !== undefined && offset >= last) this.pending.delete(partition);
    this.checkCaughtUp();
  }

  private checkCaughtUp(): void {
    if (this.caughtUp || !this.joined || this.pending.size > 0) return;
    this.caughtUp = true;
    this.logger.info('key ring: following privacy.occupancies.v1, caught up');
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }

  /** Drops what is cached of these meters (an erasure's purge); returns how many entries went. */
  forgetMeters(tenantId: string, meterIds: readonly string[]): number {
    let dropped = 0;
    for (const meterId of meterIds) if (this.cache.delete(`${tenantId}/${meterId}`)) dropped += 1;
    return dropped;
  }

  /** The meter's keys, from the cache or the vault (one request per meter at a time). */
  keysOf(tenantId: string, meterId: string, now = Date.now()): Promise<MeterKeys> {
    const id = `${tenantId}/${meterId}`;
    const cached = this.cache.get(id);
    if (cached && cached.expiresAt > now) return cached.keys;
    if (this.cache.size >= this.config.TELEMETRY_KEY_CACHE_MAX) this.evictExpired(now);
    const keys = this.vault.meterKeys(tenantId, meterId);
    const entry = { keys, expiresAt: now + this.config.TELEMETRY_KEY_CACHE_TTL_S * 1_000 };
    this.cache.set(id, entry);
    keys.catch(() => {
      if (this.cache.get(id) === entry) this.cache.delete(id);
    });
    return keys;
  }

  private evictExpired(now: number): void {
    for (const [id, entry] of this.cache) if (entry.expiresAt <= now) this.cache.delete(id);
    // Still full: drop the oldest half (insertion order).
    if (this.cache.size >= this.config.TELEMETRY_KEY_CACHE_MAX) {
      let drop = Math.ceil(this.cache.size / 2);
      for (const id of this.cache.keys()) {
        if (drop-- <= 0) break;
        this.cache.delete(id);
      }
    }
  }
}
