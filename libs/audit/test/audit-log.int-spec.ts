// The audit log on the real PostgreSQL, with an outbox table of the test's own in place of
// @meterkeep/outbox (a data-access library does not depend on another; enrollment's and privacy's
// integration suites run it through their real outbox and Kafka).
import { type ColumnType, type Generated, Kysely, PostgresDialect, sql } from 'kysely';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEvent, type TopicContract, validateEvent } from '@meterkeep/contracts';
import { stackEndpoints, uniqueName } from '@meterkeep/testing';
import {
  type AuditChainDb,
  AuditChainRepository,
  type AuditEntry,
  AuditLog,
  type AuditOutbox,
  EMPTY_CHAIN,
  GENESIS_DIGEST,
  firstBrokenLink,
} from '../src';

interface TestDb extends AuditChainDb {
  audit_outbox: { id: Generated<string>; payload: ColumnType<AuditEvent, string, never> };
}

const schema = uniqueName('audit_it').replaceAll('-', '_');
/** A database whose connections see `searchPath`, as @meterkeep/db makes a service's. */
const openDatabase = (searchPath: string) =>
  new Kysely<TestDb>({
    dialect: new PostgresDialect({
      pool: new Pool({
        connectionString: stackEndpoints().databaseUrl,
        max: 10,
        options: `-c search_path=${searchPath}`,
      }),
    }),
  });

/** Writes the records in the caller's transaction, as the service's transactional outbox does. */
class TableOutbox implements AuditOutbox<TestDb> {
  constructor(private readonly schemaName?: string) {}

  async enqueue(
    executor: Kysely<TestDb>,
    contract: TopicContract<AuditEvent>,
    events: readonly AuditEvent[],
  ) {
    const db = this.schemaName === undefined ? executor : executor.withSchema(this.schemaName);
    await db
      .insertInto('audit_outbox')
      .values(events.map((event) => ({ payload: JSON.stringify(validateEvent(contract, event)) })))
      .execute();
  }
}

const entry = (subject: string): AuditEntry => ({
  action: 'privacy.occupancy-opened',
  actor: 'key_abcdefghijkl',
  subject,
  outcome: 'allowed',
  detail: { meterId: 'MTR-1' },
});

describe('the audit log', () => {
  let db: Kysely<TestDb>;
  let elsewhere: Kysely<TestDb>;
  const heads = new AuditChainRepository();
  const audit = new AuditLog(heads, new TableOutbox());

  /** What the outbox holds for a tenant, in the order it was written. */
  const recorded = async (tenantId: string) =>
    (await db.selectFrom('audit_outbox').select(['payload']).orderBy('id').execute())
      .map((row) => row.payload)
      .filter((event) => event.tenantId === tenantId);

  beforeAll(async () => {
    db = openDatabase(schema);
    elsewhere = openDatabase(`${schema}_other`);
    await sql`create schema ${sql.id(schema)}`.execute(db);
    await sql`create table audit_chain_heads (
      tenant_id text primary key,
      sequence bigint not null,
      digest text not null
    )`.execute(db);
    await sql`create table audit_outbox (id bigserial primary key, payload jsonb not null)`.execute(db);
  });
  afterAll(async () => {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
    await Promise.all([db?.destroy(), elsewhere?.destroy()]);
  });

  it("chains a tenant's records across transactions: sequences 1, 2, 3, each naming the one before", async () => {
    const tenantId = uniqueName('t');
    await db.transaction().execute((trx) => audit.append(trx, tenantId, [entry('a')]));
    await db.transaction().execute((trx) => audit.append(trx, tenantId, [entry('b'), entry('c')]));
    await db.transaction().execute((trx) => audit.append(trx, tenantId, []));

    const events = await recorded(tenantId);
    expect(events.map((e) => [e.sequence, e.subject])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    expect(events[0]!.previousDigest).toBe(GENESIS_DIGEST);
    expect(events[1]!.previousDigest).toBe(events[0]!.digest);
    expect(events[2]!.previousDigest).toBe(events[1]!.digest);
    expect(firstBrokenLink(events, EMPTY_CHAIN)).toBe(-1);
    expect(await heads.head(db, tenantId)).toEqual({ sequence: 3, digest: events[2]!.digest });
  });

  it('keeps a chain per tenant', async () => {
    const [north, south] = [uniqueName('north'), uniqueName('south')];
    for (const [tenantId, subject] of [
      [north, 'n1'],
      [south, 's1'],
      [north, 'n2'],
      [south, 's2'],
    ] as const)
      await db.transaction().execute((trx) => audit.append(trx, tenantId, [entry(subject)]));

    const [northEvents, southEvents] = [await recorded(north), await recorded(south)];
    for (const events of [northEvents, southEvents]) {
      expect(events.map((e) => e.sequence)).toEqual([1, 2]);
      expect(events[0]!.previousDigest).toBe(GENESIS_DIGEST);
      expect(firstBrokenLink(events, EMPTY_CHAIN)).toBe(-1);
    }
    expect(northEvents.map((e) => e.subject)).toEqual(['n1', 'n2']);
  });

  it('keeps neither the records nor the new head of a transaction that rolls back', async () => {
    const tenantId = uniqueName('t');
    await db.transaction().execute((trx) => audit.append(trx, tenantId, [entry('kept')]));
    const kept = await heads.head(db, tenantId);
    await expect(
      db.transaction().execute(async (trx) => {
        await audit.append(trx, tenantId, [entry('rolled-back')]);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await heads.head(db, tenantId)).toEqual(kept);

    await db.transaction().execute((trx) => audit.append(trx, tenantId, [entry('next')]));
    const events = await recorded(tenantId);
    expect(events.map((e) => [e.sequence, e.subject])).toEqual([
      [1, 'kept'],
      [2, 'next'],
    ]);
    expect(firstBrokenLink(events, EMPTY_CHAIN)).toBe(-1);
  });

  it("makes concurrent appends to one tenant's chain take turns, in outbox order", async () => {
    const tenantId = uniqueName('t');
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        db.transaction().execute((trx) => audit.append(trx, tenantId, [entry(`c${i}`)])),
      ),
    );
    const events = await recorded(tenantId);
    expect(events.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(firstBrokenLink(events, EMPTY_CHAIN)).toBe(-1);
  });

  it('works in a schema named outright, whatever the connection’s search_path', async () => {
    const tenantId = uniqueName('t');
    const named = new AuditLog(new AuditChainRepository({ schema }), new TableOutbox(schema));
    await elsewhere.transaction().execute((trx) => named.append(trx, tenantId, [entry('a'), entry('b')]));
    const events = await recorded(tenantId);
    expect(events.map((e) => e.sequence)).toEqual([1, 2]);
    expect(await heads.head(db, tenantId)).toEqual({ sequence: 2, digest: events[1]!.digest });
  });
});
