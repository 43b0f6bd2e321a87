import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIVACY_CONFIRMATIONS, PRIVACY_ERASURE_REQUESTS } from '@meterkeep/contracts';
import { EventProducer, type KafkaClient, createKafkaClient, ensureTopics } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import { TopicTap, stackEndpoints } from '@meterkeep/testing';
import { ErasurePurge } from '../src/data-keys/erasure-purge';

/** Stands in for the key ring: remembers which meters it was told to forget. */
class ForgettingRing {
  forgotten: string[] = [];
  forgetMeters(tenantId: string, meterIds: readonly string[]): number {
    this.forgotten.push(...meterIds.map((m) => `${tenantId}/${m}`));
    return meterIds.length;
  }
}

describe('telemetry ingest: an erasure request purges the key ring and is confirmed (real Kafka)', () => {
  const logger = createLogger({ service: 'erasure-purge-it', level: 'error' });
  let kafka: KafkaClient;
  let producer: EventProducer;
  let confirmations: TopicTap;
  const purges: ErasurePurge[] = [];

  beforeAll(async () => {
    kafka = createKafkaClient({
      clientId: `erasure-purge-it-${randomBytes(3).toString('hex')}`,
      ...stackEndpoints().kafka,
      logger,
    });
    await ensureTopics(kafka, [PRIVACY_ERASURE_REQUESTS, PRIVACY_CONFIRMATIONS]);
    producer = new EventProducer({
      kafka,
      logger,
      contracts: [PRIVACY_ERASURE_REQUESTS, PRIVACY_CONFIRMATIONS],
    });
    await producer.connect();
    confirmations = await TopicTap.open(kafka, PRIVACY_CONFIRMATIONS);
  });
  afterAll(async () => {
    await Promise.all(purges.map((purge) => purge.beforeApplicationShutdown()));
    await confirmations?.close();
    await producer?.disconnect();
  });

  it('each replica drops the meters it cached and confirms as itself (asked again until its group has joined)', async () => {
    const rings = [new ForgettingRing(), new ForgettingRing()];
    for (const [i, ring] of rings.entries()) {
      const purge = new ErasurePurge(
        ring,
        kafka,
        producer,
        { TELEMETRY_INSTANCE_ID: `ingest-it-${i}` },
        logger,
      );
      purges.push(purge);
      await purge.onApplicationBootstrap();
    }
    const tenantId = `erase-${randomBytes(4).toString('hex')}`;
    const requestId = `er-${randomUUID()}`;
    const ask = (attempt: number) =>
      producer.publishMany(PRIVACY_ERASURE_REQUESTS, [
        {
          eventId: randomUUID(),
          tenantId,
          occurredAt: new Date().toISOString(),
          requestId,
          attempt,
          meterIds: ['MTR-A', 'MTR-B'],
          occupancyIds: ['occ-1'],
          keyIds: ['dk-1'],
        },
      ]);
    // The replicas join their groups in the background: the saga asks again until answered.
    const answered = (count: number) =>
      confirmations.records.filter((r) => r.json.requestId === requestId).length >= count;
    for (let attempt = 1; !answered(2) && attempt < 60; attempt++) {
      await ask(attempt);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const found = await confirmations.waitFor(
      (r) => r.json.requestId === requestId,
      2,
      'confirmations',
      60_000,
    );
    expect(new Set(found.map((r) => r.json.instance))).toEqual(new Set(['ingest-it-0', 'ingest-it-1']));
    for (const record of found)
      expect(record.json).toMatchObject({ tenantId, service: 'telemetry-ingest', outcome: 'completed' });
    for (const ring of rings) expect(ring.forgotten).toContain(`${tenantId}/MTR-B`);
  });
});
