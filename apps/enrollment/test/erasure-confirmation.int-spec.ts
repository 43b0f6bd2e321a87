import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIVACY_CONFIRMATIONS, PRIVACY_ERASURE_REQUESTS } from '@meterkeep/contracts';
import { EventProducer, type KafkaClient, createKafkaClient, ensureTopics } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import { ErasureConfirmer } from '@meterkeep/service-runtime';
import { TopicTap, stackEndpoints } from '@meterkeep/testing';
import { erasureConfirmation } from '../src/erasures/erasure-confirmation';

const SERVICE = 'enrollment';

describe(`${SERVICE}: an erasure request is confirmed by every replica (real Kafka)`, () => {
  const logger = createLogger({ service: `${SERVICE}-erasure-it`, level: 'error' });
  let kafka: KafkaClient;
  let producer: EventProducer;
  let confirmations: TopicTap;
  const confirmers: ErasureConfirmer[] = [];

  beforeAll(async () => {
    kafka = createKafkaClient({
      clientId: `${SERVICE}-erasure-it-${randomBytes(3).toString('hex')}`,
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
    await Promise.all(confirmers.map((confirmer) => confirmer.beforeApplicationShutdown()));
    await confirmations?.close();
    await producer?.disconnect();
  });

  it('the contracts let it consume the requests and publish confirmations (its ACLs derive from them)', () => {
    expect(PRIVACY_ERASURE_REQUESTS.consumers).toContain(SERVICE);
    expect(PRIVACY_CONFIRMATIONS.producers).toContain(SERVICE);
  });

  it('each replica answers not-applicable as itself, asked again until its group has joined', async () => {
    const instances = [`${SERVICE}-it-0`, `${SERVICE}-it-1`];
    for (const instance of instances) {
      const confirmer = new ErasureConfirmer(erasureConfirmation(instance), kafka, producer, logger);
      confirmers.push(confirmer);
      await confirmer.onApplicationBootstrap();
    }
    const tenantId = `erase-${randomBytes(4).toString('hex')}`;
    const requestId = `er-${randomUUID()}`;
    const answered = () => confirmations.records.filter((r) => r.json.requestId === requestId).length >= 2;
    // The replicas join their groups in the background: the saga asks again until answered.
    for (let attempt = 1; !answered() && attempt < 60; attempt++) {
      await producer.publishMany(PRIVACY_ERASURE_REQUESTS, [
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
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const found = await confirmations.waitFor(
      (r) => r.json.requestId === requestId,
      2,
      'confirmations',
      60_000,
    );
    expect(new Set(found.map((r) => r.json.instance))).toEqual(new Set(instances));
    for (const record of found) {
      expect(record.json).toMatchObject({ tenantId, service: SERVICE, outcome: 'not-applicable' });
      expect(record.json.detail).toMatch(/no readings, occupancies or data keys/);
    }
  });
});
