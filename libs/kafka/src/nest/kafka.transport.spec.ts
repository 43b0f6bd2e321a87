import { defineTopic, eventEnvelope } from '@meterkeep/contracts';
import { createLogger } from '@meterkeep/observability';
import { describe, expect, it } from 'vitest';
import { KafkaTransport } from './kafka.transport';

const known = defineTopic({
  name: 'meter.readings.v1',
  schema: eventEnvelope,
  key: (event) => event.tenantId,
  partitions: 1,
  example: {
    eventId: '2f1c7f5e-8a3b-4c1d-9e2f-1a2b3c4d5e6f',
    tenantId: 't1',
    occurredAt: '2026-01-01T00:00:00Z',
  },
});

function transport() {
  return new KafkaTransport({
    // Nothing listens here: the checks must fail before any connection is tried.
    kafka: { clientId: 'unit', brokers: ['127.0.0.1:9'] },
    groupId: 'g',
    contracts: [known],
    logger: createLogger({ service: 'test', level: 'silent' }),
  });
}

const handler = () => Promise.resolve(undefined);

async function listen(server: KafkaTransport): Promise<unknown> {
  return new Promise((resolve) => server.listen((error) => resolve(error)));
}

describe('KafkaTransport.listen', () => {
  it('fails fast naming an @EventPattern that has no contract', async () => {
    const server = transport();
    server.addHandler(known.name, handler, true);
    server.addHandler('meter.typo.v1', handler, true);
    const error = await listen(server);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/no topic contract for pattern 'meter\.typo\.v1'/);
  });

  it('refuses request-response @MessagePattern handlers', async () => {
    const server = transport();
    server.addHandler(known.name, handler, false);
    expect(((await listen(server)) as Error).message).toMatch(/@MessagePattern/);
  });

  it('refuses a transport mixing per-record and batch handlers, before connecting', async () => {
    const server = new KafkaTransport({
      kafka: { clientId: 'unit', brokers: ['127.0.0.1:9'] },
      groupId: 'g',
      contracts: [known, { ...known, name: 'meter.other.v1' }],
      logger: createLogger({ service: 'test', level: 'silent' }),
    });
    // Nest marks the function itself: two handlers, two functions.
    server.addHandler(known.name, () => Promise.resolve(undefined), true);
    server.addHandler('meter.other.v1', () => Promise.resolve(undefined), true, { batch: true });
    expect(((await listen(server)) as Error).message).toMatch(/mixes per-record and batch/);
  });

  it('listens without a consumer when there is nothing to consume', async () => {
    const server = transport();
    expect(await listen(server)).toBeUndefined();
    expect(() => server.unwrap()).toThrow(/not listening/);
    await server.close();
  });
});
