import { randomUUID } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { PRIVACY_OCCUPANCIES } from '@meterkeep/contracts';
import { EventConsumer, type KafkaClient } from '@meterkeep/kafka';
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
 * which every replica follows from the latest record in a group of its own.
 */
@Injectable()
export class KeyRing implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly cache = new Map<string, Cached>();
  private consumer: EventConsumer | undefined;

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
        this.consumer?.running
          ? Promise.resolve()
          : Promise.reject(new Error('not yet following privacy.occupancies.v1')),
    });
  }

  onApplicationBootstrap(): void {
    this.consumer = new EventConsumer({
      kafka: this.kafka,
      groupId: `telemetry-ingest-keys-${this.config.TELEMETRY_INSTANCE_ID}-${randomUUID()}`,
      logger: this.logger.child({ component: 'key-ring-consumer' }),
      fromBeginning: false,
      maxWaitTimeInMs: 500,
    }).subscribe(PRIVACY_OCCUPANCIES, (event) => {
      this.cache.delete(`${event.tenantId}/${event.meterId}`);
      if (event.type === 'key-destroyed')
        this.logger.info({ keyId: event.keyId }, 'data key destroyed: dropped');
    });
    // In the background: joining a group takes a while, and the cache's expiry bounds what it misses.
    void this.consumer.start().catch((error: unknown) => {
      this.logger.error(
        { err: error },
        'key ring: not following privacy.occupancies.v1; keys expire by TTL only',
      );
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
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
