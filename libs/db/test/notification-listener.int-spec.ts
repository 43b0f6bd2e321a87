import { sql } from 'kysely';
import { Client } from 'pg';
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

  it('groups a burst of fences into one notification; a fence called after one was sent covers later commits', async () => {
    // Another session on the channel sees the fences this listener sends.
    const spy = new Client({ connectionString: schemas.url });
    await spy.connect();
    const seen: string[] = [];
    spy.on('notification', (n) => seen.push(n.payload ?? ''));
    await spy.query(`listen "${channel}"`);
    try {
      for (let i = 0; i < 20; i++)
        await sql`select pg_notify(${channel}, ${`burst ${i}`})`.execute(schemas.admin);
      // Twenty commits' callers ask at once: one fence is sent for all of them.
      expect(await Promise.all(Array.from({ length: 20 }, () => listener.fence()))).toEqual(
        Array(20).fill(true),
      );
      expect(heard.slice(-20)).toEqual(Array.from({ length: 20 }, (_, i) => `burst ${i}`));
      // A fence already sent cannot cover a commit after it: the caller after that commit gets the next.
      const first = listener.fence();
      await new Promise((resolve) => setImmediate(resolve));
      await sql`select pg_notify(${channel}, 'late')`.execute(schemas.admin);
      expect(await listener.fence()).toBe(true);
      expect(heard.at(-1)).toBe('late');
      expect(await first).toBe(true);
      await sql`select pg_notify(${channel}, 'end')`.execute(schemas.admin);
      await waitUntil(() => Promise.resolve(seen.includes('end') || undefined), {
        timeoutMs: 5_000,
        description: 'the spy heard everything',
      });
      expect(seen.filter((payload) => payload.startsWith('fence ')).length).toBeLessThanOrEqual(3);
    } finally {
      await spy.end();
    }
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
