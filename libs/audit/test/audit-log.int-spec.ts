// The audit log on the real PostgreSQL, with an outbox table of the test's own in place of
// @meterkeep/outbox (a data-access library does not depend on another; enrollment's and privacy's
// integration suites run it through their real outbox and Kafka).
import { type ColumnType, type Generated, Kysely, PostgresDialect, type RawBuilder, sql } from 'kysely';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEvent, type TopicContract, validateEvent } from '@meterkeep/contracts';
import { stackEndpoints, uniqueName } from '@meterkeep/testing';
import {
  type AuditChainDb,
  AuditChainRepository,
  type AuditEntry,
  AuditChainVerifier,
  AuditLog,
  type AuditOutbox,
  EMPTY_CHAIN,
  GENESIS_DIGEST,
  chainAuditEvents,
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
      digest text not null,
      anchor_sequence bigint not null default 0,
      anchor_digest text not null default ${sql.lit(GENESIS_DIGEST)}
    )`.execute(db);
    await sql`create table audit_records (
      tenant_id text not null,
      sequence bigint not null,
      record jsonb not null,
      primary key (tenant_id, sequence)
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

  describe('verification of the stored chain', () => {
    const append = (tenantId: string, subjects: string[]) =>
      db.transaction().execute((trx) => audit.append(trx, tenantId, subjects.map(entry)));

    it('stores each record as chained, and pages through them (pages of 2 here)', async () => {
      const tenantId = uniqueName('t');
      await append(tenantId, ['a', 'b', 'c']);
      await append(tenantId, ['d', 'e']);
      const stored = await heads.records(db, tenantId, 0, 10, 10);
      expect(stored.map((r) => r.sequence)).toEqual([1, 2, 3, 4, 5]);
      expect(stored.map((r) => r.record)).toEqual(await recorded(tenantId));

      const verifier = new AuditChainVerifier(heads, db, 2);
      const head = await heads.head(db, tenantId);
      expect(await verifier.verify(tenantId)).toEqual({
        tenantId,
        intact: true,
        from: 1,
        to: 5,
        verified: 5,
        head,
        anchor: EMPTY_CHAIN,
      });
      // At most maxRecords a call; nextFrom goes on from the record the last call checked.
      const capped = new AuditChainVerifier(heads, db, 2, 3);
      expect(await capped.verify(tenantId)).toMatchObject({ intact: true, to: 3, verified: 3, nextFrom: 4 });
      expect(await capped.verify(tenantId, { from: 4 })).toMatchObject({
        intact: true,
        from: 4,
        to: 5,
        verified: 2,
      });
      expect((await capped.verify(tenantId, { from: 4 })).nextFrom).toBeUndefined();
      // Nothing past the head, and an unknown tenant has an empty chain.
      expect(await verifier.verify(tenantId, { from: 9 })).toMatchObject({
        intact: true,
        from: 9,
        to: 8,
        verified: 0,
      });
      expect(await verifier.verify(uniqueName('none'))).toMatchObject({
        intact: true,
        verified: 0,
        head: EMPTY_CHAIN,
      });
    });

    it('names the first break: a changed record, a broken link, a missing record, a changed head', async () => {
      const tenantId = uniqueName('t');
      await append(tenantId, ['a', 'b', 'c', 'd']);
      const verifier = new AuditChainVerifier(heads, db, 2);
      const breakOf = async () => (await verifier.verify(tenantId)).firstBreak;
      const update = (sequence: number, change: RawBuilder<unknown>) =>
        sql`update audit_records set record = ${change}
          where tenant_id = ${tenantId} and sequence = ${sequence}`.execute(db);

      // A member added changes the digest as much as one changed.
      await update(3, sql`record || '{"note":"x"}'::jsonb`);
      expect(await breakOf()).toMatchObject({ sequence: 3, reason: 'digest-mismatch' });
      await update(3, sql`record - 'note'`);
      expect(await breakOf()).toBeUndefined();

      // Record 3 rewritten with a digest that holds, but not linked to record 2: a forged record.
      const [forged] = chainAuditEvents(
        tenantId,
        { sequence: 2, digest: 'f'.repeat(64) },
        [entry('x')],
        new Date(),
      ).events;
      const [third] = await heads.records(db, tenantId, 2, 3, 1);
      await update(3, sql`${JSON.stringify(forged)}::jsonb`);
      expect(await breakOf()).toMatchObject({ sequence: 3, reason: 'link-mismatch' });
      await update(3, sql`${JSON.stringify(third!.record)}::jsonb`);

      await update(2, sql`'{"not":"a record"}'::jsonb`);
      expect(await breakOf()).toMatchObject({ sequence: 2, reason: 'malformed-record' });
      await sql`delete from audit_records where tenant_id = ${tenantId} and sequence = 2`.execute(db);
      expect(await breakOf()).toMatchObject({ sequence: 2, reason: 'missing-record' });

      const other = uniqueName('t');
      await append(other, ['z']);
      await sql`update audit_chain_heads set digest = ${'e'.repeat(64)} where tenant_id = ${other}`.execute(
        db,
      );
      expect((await verifier.verify(other)).firstBreak).toMatchObject({
        sequence: 1,
        reason: 'head-mismatch',
      });
    });

    it('starts at the anchor: records chained before the table existed are not asked for', async () => {
      const tenantId = uniqueName('t');
      const before = { sequence: 7, digest: 'a'.repeat(64) };
      await sql`insert into audit_chain_heads (tenant_id, sequence, digest, anchor_sequence, anchor_digest)
        values (${tenantId}, ${before.sequence}, ${before.digest}, ${before.sequence}, ${before.digest})`.execute(
        db,
      );
      await append(tenantId, ['h', 'i']);
      const answer = await new AuditChainVerifier(heads, db).verify(tenantId);
      expect(answer).toMatchObject({ intact: true, from: 8, to: 9, verified: 2, anchor: before });
      expect(await new AuditChainVerifier(heads, db).verify(tenantId, { from: 1 })).toMatchObject({
        from: 8,
      });
    });
  });
});
