import { createServer, type Server, type Socket } from 'node:net';
import { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresHealthProbe, createDatabase } from '../src';
import { TestSchemas, uniqueSchema } from './db-test-helpers';

describe('PostgresHealthProbe (real PostgreSQL)', () => {
  const schemas = new TestSchemas();
  // Accepts connections and never answers: a hung server, which only a timeout can detect.
  let silent: Server;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    await schemas.cleanUp();
  });

  it('passes against the running server', async () => {
    const probe = new PostgresHealthProbe(schemas.open(uniqueSchema()));
    expect(probe.name).toBe('postgres');
    await expect(probe.check()).resolves.toBeUndefined();
  });

  it('fails fast when nothing listens', async () => {
    const db = createDatabase({
      url: 'postgres://meterkeep@127.0.0.1:1/meterkeep',
      schema: 'mk_unreachable',
    });
    const started = Date.now();
    try {
      await expect(new PostgresHealthProbe(db, 1_000).check()).rejects.toThrow(/ECONNREFUSED/);
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await db.destroy();
    }
  });

  it('fails within its timeout when the server hangs', async () => {
    const { port } = silent.address() as AddressInfo;
    const db = createDatabase({
      url: `postgres://meterkeep@127.0.0.1:${port}/meterkeep`,
      schema: 'mk_unreachable',
    });
    const started = Date.now();
    await expect(new PostgresHealthProbe(db, 300).check()).rejects.toThrow(
      /postgres did not answer within 300 ms/,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    for (const socket of sockets) socket.destroy();
    await db.destroy();
  });
});
