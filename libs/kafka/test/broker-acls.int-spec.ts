import { randomUUID } from 'node:crypto';
import { kafkaSecurity } from '@meterkeep/config';
import {
  AUDIT_EVENTS,
  ENROLLMENT_DEVICES,
  ENROLLMENT_TRUST_ANCHORS,
  type PlatformService,
  type TopicContract,
} from '@meterkeep/contracts';
import { principalEnv } from '@meterkeep/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { EventProducer, type KafkaClient, createKafkaClient, ensureTopics } from '../src';
import { meterContract, stackEndpoints, testLogger, uniqueGroupId } from './kafka-test-kit';

// Every stack authenticates but the container one (testcontainers), which is not set up for it yet: a
// plaintext stack fails here.
const containers = process.env.METERKEEP_STACK_SOURCE === 'testcontainers';

/** A client as the service's own principal would connect (what the harness hands each service). */
function asService(service: PlatformService): KafkaClient {
  return createKafkaClient({
    clientId: `it-acl-${service}`,
    brokers: stackEndpoints().kafkaBrokers,
    ...kafkaSecurity(principalEnv(service)),
    logger: testLogger,
  });
}

/** The kafkajs error type (or name) a failed call ends with. */
async function failure(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    const e = error as { type?: string; name?: string; cause?: { type?: string } };
    return e.type ?? e.cause?.type ?? e.name ?? String(error);
  }
  return 'no error';
}

describe.skipIf(containers)('the brokers authorise each service by the contracts (local stack)', () => {
  const producers: EventProducer[] = [];
  afterAll(() => Promise.all(producers.map((p) => p.disconnect())));

  const producerFor = async (service: PlatformService, contracts: readonly TopicContract[]) => {
    const producer = new EventProducer({ kafka: asService(service), logger: testLogger, contracts });
    producers.push(producer);
    await producer.connect();
    return producer;
  };

  it("refuses a service's principal that writes a topic it does not own (TOPIC_AUTHORIZATION_FAILED)", async () => {
    const bootstrap = await producerFor('bootstrap', [ENROLLMENT_DEVICES, ENROLLMENT_TRUST_ANCHORS]);
    // Trust state: only enrollment may publish devices and trust anchors.
    expect(
      await failure(
        bootstrap.publish(ENROLLMENT_DEVICES, { ...ENROLLMENT_DEVICES.example, eventId: randomUUID() }),
      ),
    ).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(
      await failure(
        bootstrap.publish(ENROLLMENT_TRUST_ANCHORS, {
          ...ENROLLMENT_TRUST_ANCHORS.example,
          eventId: randomUUID(),
        }),
      ),
    ).toBe('TOPIC_AUTHORIZATION_FAILED');
  });

  it('lets the owner write its topic', async () => {
    const privacy = await producerFor('privacy', [AUDIT_EVENTS]);
    const tenantId = `it-acl-${randomUUID().slice(0, 8)}`;
    // publish resolves once the broker acknowledged the record (acks=all).
    await expect(
      privacy.publish(AUDIT_EVENTS, { ...AUDIT_EVENTS.example, eventId: randomUUID(), tenantId }),
    ).resolves.toBeUndefined();
  });

  it('lets a service neither create topics nor join another service’s consumer group', async () => {
    await expect(ensureTopics(asService('bootstrap'), [meterContract('acl')])).rejects.toThrow(
      /may not create them: the admin creates topics and ACLs/,
    );
    // telemetry-ingest may read the devices topic, but only in groups named after itself. The
    // broker answers FindCoordinator with GROUP_AUTHORIZATION_FAILED, which kafkajs reports as
    // "coordinator not found"; the same principal joins a group of its own at once.
    const joins = async (groupId: string) => {
      const consumer = asService('telemetry-ingest').consumer({ groupId, retry: { retries: 0 } });
      const outcome = new Promise<string>((resolve) => {
        consumer.on(consumer.events.GROUP_JOIN, () => resolve('joined'));
        consumer.on(consumer.events.CRASH, ({ payload }) => resolve(payload.error.name));
      });
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [ENROLLMENT_DEVICES.name] });
        await consumer.run({ eachMessage: () => Promise.resolve() });
        return await outcome;
      } finally {
        await consumer.disconnect();
      }
    };
    expect(await joins(uniqueGroupId('bootstrap'))).toBe('KafkaJSGroupCoordinatorNotFound');
    expect(await joins(`telemetry-ingest-${uniqueGroupId('acl')}`)).toBe('joined');
  });

  it('lets no client in without credentials, nor with a wrong password', async () => {
    const { kafka } = stackEndpoints();
    const attempt = async (options: Partial<Parameters<typeof createKafkaClient>[0]>) => {
      const admin = createKafkaClient({
        clientId: 'it-acl-anonymous',
        brokers: kafka.brokers,
        connectionTimeout: 3_000,
        retry: { retries: 0 },
        logger: testLogger,
        ...options,
      }).admin();
      try {
        return await failure(admin.listTopics());
      } finally {
        await admin.disconnect();
      }
    };
    // Plain TCP: the listener speaks TLS only.
    expect(await attempt({})).not.toBe('no error');
    // TLS without SASL: the broker closes the connection before any request.
    expect(await attempt({ ssl: kafka.ssl })).not.toBe('no error');
    expect(
      await attempt({
        ssl: kafka.ssl,
        sasl: { mechanism: 'scram-sha-512', username: 'bootstrap', password: 'not-the-password' },
      }),
    ).toBe('KafkaJSSASLAuthenticationError');
    // With its credentials, the same principal gets in.
    expect(await failure(asService('bootstrap').admin().listTopics())).toBe('no error');
  });
});
