import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { NotificationListener } from '../src';
import { TestSchemas, uniqueSchema, waitUntil } from './db-test-helpers';

describe('NotificationListener (real PostgreSQL)', () => {
  const schemas = new TestSchemas();
  const channel = uniqueSchema();
  const heard: string[] = [];
  const states: boolean[] = [];
  const listener = new NotificationListener({
    url: schemas.url,
    channel,
    applicationName: channel,
    heartbeatMs: 0,
    retry: { initialMs: 500, maxMs: 500 },
    onNotification: (payload) => heard.push(payload),
    onListening: (listening) => states.push(listening),
  });
  afterAll(async () => {
    await listener.stop();
    await schemas.cleanUp();
  });

  it('hears commits only, and a fence resolves once every earlier commit was heard', async () => {
    listener.start();
    await waitUntil(() => Promise.resolve(listener.isListening || undefined), {
      timeoutMs: 10_000,
      description: 'listening',
    });
    await schemas.admin
      .transaction()
      .execute(async (trx) => {
        await sql`select pg_notify(${channel}, 'rolled back')`.execute(trx);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await schemas.admin.transaction().execute(async (trx) => {
      await sql`select pg_notify(${channel}, 'one')`.execute(trx);
      await sql`select pg_notify(${channel}, 'two')`.execute(trx);
    });
    expect(await listener.fence()).toBe(true);
    // Fences are never handed to the application.
    expect(heard).toEqual(['one', 'two']);
  });

  it('reports the loss of its connection, reconnects and listens again', async () => {
    const { rows } = await sql<{ killed: boolean }>`
      select pg_terminate_backend(pid) as killed from pg_stat_activity
      where application_name = ${channel}`.execute(schemas.admin);
    expect(rows).toEqual([{ killed: true }]);
    await waitUntil(() => Promise.resolve(states.at(-1) === false || undefined), {
      timeoutMs: 5_000,
      description: 'loss reported',
    });
    expect(await listener.fence()).toBe(false);
    await waitUntil(() => Promise.resolve(listener.isListening || undefined), {
      timeoutMs: 10_000,
      description: 'listening again',
    });
    expect(states).toEqual([true, false, true]);
    await sql`select pg_notify(${channel}, 'three')`.execute(schemas.admin);
    expect(await listener.fence()).toBe(true);
    expect(heard.at(-1)).toBe('three');
  });
});
