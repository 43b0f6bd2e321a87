// The outbox on the real PostgreSQL, with a recording publisher in place of Kafka (enrollment's and
// privacy's integration suites run it against the real broker).
import { randomUUID } from 'node:crypto';
import { type SpanContext, trace } from '@opentelemetry/api';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  AUDIT_EVENTS,
  type EventEnvelope,
  PRIVACY_OCCUPANCIES,
  type PrivacyOccupancyEvent,
  type TopicContract,
} from '@meterkeep/contracts';
import {
  createLogger,
  parsePrometheusText,
  samplesOf,
  startTelemetry,
  type Telemetry,
} from '@meterkeep/observability';
import { stackEndpoints, uniqueName, waitUntil } from '@meterkeep/testing';
import { type EventPublisher, type OutboxDb, OutboxRelay, OutboxRepository, Transactions } from '../src';

const schema = uniqueName('outbox_it').replaceAll('-', '_');
/** A database whose connections see `searchPath`, as @meterkeep/db makes a service's (not imported: a
 * data-access library does not depend on another). */
const openDatabase = (searchPath: string) =>
  new Kysely<OutboxDb>({
    dialect: new PostgresDialect({
      pool: new Pool({
        connectionString: stackEndpoints().databaseUrl,
        max: 3,
        options: `-c search_path=${searchPath}`,
      }),
    }),
  });
const logger = createLogger({ service: 'outbox-it', level: 'silent' });

const occupancyEvent = (meterId: string): PrivacyOccupancyEvent => ({
  ...PRIVACY_OCCUPANCIES.example,
  eventId: randomUUID(),
  meterId,
});

class RecordingPublisher implements EventPublisher {
  readonly published: { topic: string; events: EventEnvelope[] }[] = [];
  failing = false;

  publishMany<T extends EventEnvelope>(contract: TopicContract<T>, events: readonly T[]): Promise<void> {
    if (this.failing) return Promise.reject(new Error('broker down'));
    this.published.push({ topic: contract.name, events: [...events] });
    return Promise.resolve();
  }

  get events(): EventEnvelope[] {
    return this.published.flatMap((p) => p.events);
  }
}

describe('the transactional outbox', () => {
  /** Bound to the outbox's own schema, as a service's database is. */
  let db: Kysely<OutboxDb>;
  /** Bound to another schema: reaches the outbox only through the schema option. */
  let elsewhere: Kysely<OutboxDb>;
  const outbox = new OutboxRepository();

  beforeAll(async () => {
    db = openDatabase(schema);
    elsewhere = openDatabase(`${schema}_other`);
    await sql`create schema ${sql.id(schema)}`.execute(db);
    await sql`create table outbox (
      id bigserial primary key,
      topic text not null,
      payload jsonb not null,
      created_at timestamptz not null default now(),
      trace_context jsonb
    )`.execute(db);
  });
  afterAll(async () => {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
    await Promise.all([db?.destroy(), elsewhere?.destroy()]);
  });

  it('keeps an event if and only if its transaction commits, and nudges the relay after the commit', async () => {
    const nudge = vi.fn();
    const transactions = new Transactions(db, { nudge });
    await expect(
      transactions.run(async (trx) => {
        await outbox.enqueue(trx, PRIVACY_OCCUPANCIES, [occupancyEvent('MTR-ROLLED-BACK')]);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(nudge).not.toHaveBeenCalled();
    expect(await outbox.count(db)).toBe(0);

    await transactions.run((trx) => outbox.enqueue(trx, PRIVACY_OCCUPANCIES, [occupancyEvent('MTR-KEPT')]));
    expect(nudge).toHaveBeenCalledTimes(1);
    expect(await outbox.count(db)).toBe(1);
    await outbox.remove(
      db,
      (await outbox.nextBatch(db, 10)).map((r) => r.id),
    );
  });

  it('refuses an event its contract refuses, in the transaction that tried', async () => {
    const bad = { ...occupancyEvent('MTR-1'), type: 'moved' } as unknown as PrivacyOccupancyEvent;
    await expect(outbox.enqueue(db, PRIVACY_OCCUPANCIES, [bad])).rejects.toThrow(/violates its contract/);
    expect(await outbox.count(db)).toBe(0);
  });

  it('publishes in id order, one request per run of a topic, and deletes what Kafka acknowledged', async () => {
    const publisher = new RecordingPublisher();
    const relay = new OutboxRelay({ db, publisher, topics: [PRIVACY_OCCUPANCIES, AUDIT_EVENTS], logger });
    const events = ['MTR-A', 'MTR-B'].map(occupancyEvent);
    await outbox.enqueue(db, PRIVACY_OCCUPANCIES, events);
    await outbox.enqueue(db, AUDIT_EVENTS, [AUDIT_EVENTS.example]);
    await outbox.enqueue(db, PRIVACY_OCCUPANCIES, [occupancyEvent('MTR-C')]);

    expect(await relay.relayBatch()).toBe(4);
    expect(publisher.published.map((p) => [p.topic, p.events.length])).toEqual([
      [PRIVACY_OCCUPANCIES.name, 2],
      [AUDIT_EVENTS.name, 1],
      [PRIVACY_OCCUPANCIES.name, 1],
    ]);
    expect(publisher.events[0]).toEqual(events[0]);
    expect(await outbox.count(db)).toBe(0);
    expect(await relay.relayBatch()).toBe(0);
  });

  it('keeps the events while publishing fails, and publishes them once it works again', async () => {
    const publisher = new RecordingPublisher();
    const relay = new OutboxRelay({ db, publisher, topics: [PRIVACY_OCCUPANCIES], logger, pollMs: 10 });
    publisher.failing = true;
    await outbox.enqueue(db, PRIVACY_OCCUPANCIES, [occupancyEvent('MTR-RETRY')]);
    await expect(relay.relayBatch()).rejects.toThrow('broker down');
    expect(await outbox.count(db)).toBe(1);

    relay.start();
    try {
      publisher.failing = false;
      await waitUntil(async () => (await outbox.count(db)) === 0, { description: 'the outbox to drain' });
      expect(publisher.events.map((e) => (e as PrivacyOccupancyEvent).meterId)).toEqual(['MTR-RETRY']);
    } finally {
      await relay.stop();
    }
  });

  it('stops at an event for a topic the service does not publish, losing nothing', async () => {
    const publisher = new RecordingPublisher();
    const relay = new OutboxRelay({ db, publisher, topics: [AUDIT_EVENTS], logger });
    await outbox.enqueue(db, PRIVACY_OCCUPANCIES, [occupancyEvent('MTR-STRAY')]);
    await expect(relay.relayBatch()).rejects.toThrow(
      /privacy\.occupancies\.v1, which this service does not publish/,
    );
    expect(await outbox.count(db)).toBe(1);
    await new OutboxRelay({ db, publisher, topics: [PRIVACY_OCCUPANCIES], logger }).relayBatch();
  });

  it('works in a schema named outright, whatever the connection’s search_path', async () => {
    const named = new OutboxRepository({ schema });
    await named.enqueue(elsewhere, PRIVACY_OCCUPANCIES, [occupancyEvent('MTR-NAMED')]);
    expect(await outbox.count(db)).toBe(1);
    const publisher = new RecordingPublisher();
    const relay = new OutboxRelay({
      db: elsewhere,
      publisher,
      topics: [PRIVACY_OCCUPANCIES],
      logger,
      schema,
    });
    expect(await relay.relayBatch()).toBe(1);
    expect(await outbox.count(db)).toBe(0);
  });

  it('lets one relay at a time publish a schema’s outbox', async () => {
    await outbox.enqueue(db, PRIVACY_OCCUPANCIES, [occupancyEvent('MTR-LOCK')]);
    const publisher = new RecordingPublisher();
    const relay = new OutboxRelay({ db, publisher, topics: [PRIVACY_OCCUPANCIES], logger });
    const other = new OutboxRelay({ db, publisher, topics: [PRIVACY_OCCUPANCIES], logger });
    await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(current_schema() || '.outbox-relay'))`.execute(trx);
      // Another replica holds the lock: this one publishes nothing and waits for the next turn.
      expect(await relay.relayBatch()).toBe(0);
    });
    expect(await other.relayBatch()).toBe(1);
    expect(publisher.events).toHaveLength(1);
  });

  describe('metrics', () => {
    let telemetry: Telemetry;
    let scrape: (name: string) => Promise<number[]>;
    beforeAll(async () => {
      telemetry = startTelemetry({
        serviceName: 'outbox-it',
        traces: 'none',
        metrics: 'none',
        prometheus: { port: 0, host: '127.0.0.1' },
      });
      const url = (await telemetry.metricsEndpoint)!;
      scrape = async (name) =>
        samplesOf(parsePrometheusText(await (await fetch(url)).text()), name).map((s) => s.value);
    });
    afterAll(() => telemetry?.shutdown());

    it('reports the backlog and the age of its oldest event while the relay runs', async () => {
      await outbox.enqueue(db, PRIVACY_OCCUPANCIES, [
        occupancyEvent('MTR-B1'),
        occupancyEvent('MTR-B2'),
        occupancyEvent('MTR-B3'),
      ]);
      await sql`update outbox set created_at = now() - interval '90 seconds'`.execute(db);
      const publisher = new RecordingPublisher();
      publisher.failing = true;
      const relay = new OutboxRelay({ db, publisher, topics: [PRIVACY_OCCUPANCIES], logger, pollMs: 10 });
      expect(await scrape('meterkeep_outbox_backlog')).toEqual([]);
      relay.start();
      try {
        expect(await scrape('meterkeep_outbox_backlog')).toEqual([3]);
        const [age] = await scrape('meterkeep_outbox_oldest_age');
        expect(age).toBeGreaterThanOrEqual(90);
        expect(age).toBeLessThan(120);

        publisher.failing = false;
        await waitUntil(async () => (await outbox.count(db)) === 0, { description: 'the outbox drained' });
        await waitUntil(async () => (await scrape('meterkeep_outbox_backlog')).join() === '0', {
          description: 'the backlog to read 0',
          timeoutMs: 20_000,
        });
        expect(await scrape('meterkeep_outbox_oldest_age')).toEqual([0]);
      } finally {
        await relay.stop();
      }
    });
  });

  describe('traces', () => {
    let telemetry: Telemetry;
    beforeAll(() => {
      telemetry = startTelemetry({
        serviceName: 'outbox-it',
        traces: 'memory',
        metrics: 'none',
        instrument: false,
      });
    });
    afterAll(() => telemetry?.shutdown());

    it('publishes each event inside the trace of the transaction that wrote it', async () => {
      const tracer = trace.getTracer('outbox-it');
      const write = (meterId: string) =>
        tracer.startActiveSpan(`write ${meterId}`, async (span) => {
          await outbox.enqueue(db, PRIVACY_OCCUPANCIES, [occupancyEvent(meterId)]);
          span.end();
          return span.spanContext();
        });
      const first = await write('MTR-T1');
      const second = await write('MTR-T2');
      await outbox.enqueue(db, PRIVACY_OCCUPANCIES, [occupancyEvent('MTR-T3')]);
      // What a producer publishing the run would take as its parent (EventProducer's send span).
      const parents: (SpanContext | undefined)[] = [];
      const publisher: EventPublisher = {
        publishMany: (_contract, events) => {
          for (const _event of events) parents.push(trace.getActiveSpan()?.spanContext());
          return Promise.resolve();
        },
      };
      const relay = new OutboxRelay({ db, publisher, topics: [PRIVACY_OCCUPANCIES], logger });
      expect(await relay.relayBatch()).toBe(3);
      // One publish per writer's trace; the event written outside any trace is published outside one.
      expect(parents.map((parent) => parent && [parent.traceId, parent.spanId])).toEqual([
        [first.traceId, first.spanId],
        [second.traceId, second.spanId],
        undefined,
      ]);
    });
  });
});
