import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIVACY_OCCUPANCIES } from '@meterkeep/contracts';
import { EventProducer, type KafkaClient, createKafkaClient, ensureTopics } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import { ServiceState } from '@meterkeep/service-runtime';
import { stackEndpoints, waitUntil } from '@meterkeep/testing';
import type { TelemetryIngestConfig } from '../src/config';
import { KeyRing } from '../src/data-keys/key-ring';
import type { MeterKeys } from '../src/data-keys/meter-keys';
import type { PrivacyKeysClient } from '../src/data-keys/privacy-keys.client';

/** Stands in for privacy's key vault (an HTTP client): counts what the ring asks it. */
class CountingVault {
  calls = 0;
  meterKeys(): Promise<MeterKeys> {
    this.calls += 1;
    return Promise.resolve({ occupancies: [], meterKey: { keyId: 'dk-meter', key: randomBytes(32) } });
  }
}

describe('telemetry ingest: the key ring hears every key destruction announced while it starts (real Kafka)', () => {
  const logger = createLogger({ service: 'key-ring-it', level: 'error' });
  let kafka: KafkaClient;
  let producer: EventProducer;
  const rings: KeyRing[] = [];

  beforeAll(async () => {
    kafka = createKafkaClient({
      clientId: `key-ring-it-${randomBytes(3).toString('hex')}`,
      brokers: stackEndpoints().kafkaBrokers,
      logger,
    });
    await ensureTopics(kafka, [PRIVACY_OCCUPANCIES]);
    producer = new EventProducer({ kafka, logger, contracts: [PRIVACY_OCCUPANCIES] });
    await producer.connect();
  });
  afterAll(async () => {
    await Promise.all(rings.map((ring) => ring.beforeApplicationShutdown()));
    await producer?.disconnect();
  });

  it('drops a key destroyed between subscribing and being ready, before it reports ready', async () => {
    const vault = new CountingVault();
    const state = new ServiceState([]);
    const ring = new KeyRing(
      vault as unknown as PrivacyKeysClient,
      kafka,
      {
        TELEMETRY_INSTANCE_ID: 'key-ring-it',
        TELEMETRY_KEY_CACHE_TTL_S: 3_600,
        TELEMETRY_KEY_CACHE_MAX: 1_000,
      } as TelemetryIngestConfig,
      logger,
      state,
    );
    rings.push(ring);
    const probe = state.probes.find((p) => p.name === 'key-ring')!;
    const ready = () =>
      probe.check().then(
        () => true,
        () => false,
      );
    const tenantId = `keys-${randomBytes(4).toString('hex')}`;
    const meterId = `MTR-${randomBytes(4).toString('hex').toUpperCase()}`;

    await ring.onApplicationBootstrap();
    await ring.keysOf(tenantId, meterId);
    expect(vault.calls).toBe(1);
    // Announced while the ring's group is still joining (that takes seconds): not ready yet.
    await producer.publish(PRIVACY_OCCUPANCIES, {
      eventId: randomUUID(),
      tenantId,
      occurredAt: new Date().toISOString(),
      type: 'key-destroyed',
      meterId,
      occupancyId: 'occ-1',
      keyId: 'dk-meter',
    });
    expect(await ready()).toBe(false);

    await waitUntil(ready, { timeoutMs: 60_000, description: 'the key ring ready' });
    await ring.keysOf(tenantId, meterId);
    expect(vault.calls).toBe(2);
  });
});
