import { describe, expect, it } from 'vitest';
import type { KafkaClient } from '@meterkeep/kafka';
import { ServiceState } from '@meterkeep/service-runtime';
import { waitUntil } from '@meterkeep/testing';
import type { TelemetryIngestConfig } from '../config';
import { KeyRing } from './key-ring';
import type { PrivacyKeysClient } from './privacy-keys.client';

/** A Kafka stand-in whose consumer joins its group when `join` is called (pure logic: no broker). */
function kafkaJoiningOnDemand() {
  let join: () => void = () => undefined;
  const joined = new Promise<void>((resolve) => (join = resolve));
  const kafka = {
    consumer: () => ({
      events: { CRASH: 'consumer.crash' },
      on: () => undefined,
      connect: () => Promise.resolve(),
      subscribe: () => Promise.resolve(),
      run: () => joined,
      disconnect: () => Promise.resolve(),
    }),
    producer: () => ({ connect: () => Promise.resolve(), disconnect: () => Promise.resolve() }),
    admin: () => ({
      connect: () => Promise.resolve(),
      fetchTopicOffsets: () => Promise.resolve([{ partition: 0, low: '0', high: '0' }]),
      setOffsets: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
    }),
  } as unknown as KafkaClient;
  return { kafka, join: () => join() };
}

const silent = { child: () => silent, info: () => undefined, error: () => undefined, warn: () => undefined };

describe('KeyRing readiness', () => {
  it('is not ready until it follows privacy.occupancies.v1, so no destruction can go unheard', async () => {
    const { kafka, join } = kafkaJoiningOnDemand();
    const state = new ServiceState([]);
    const ring = new KeyRing(
      {} as PrivacyKeysClient,
      kafka,
      { TELEMETRY_INSTANCE_ID: 'ingest-0' } as TelemetryIngestConfig,
      silent as never,
      state,
    );
    const probe = state.probes.find((p) => p.name === 'key-ring');
    expect(probe).toBeDefined();
    await ring.onApplicationBootstrap();
    await expect(probe!.check()).rejects.toThrow(/not yet following privacy\.occupancies\.v1/);
    join();
    await waitUntil(
      () =>
        probe!.check().then(
          () => true,
          () => false,
        ),
      { timeoutMs: 2_000 },
    );
  });
});
