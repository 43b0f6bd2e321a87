// The consent ledger's table on the real PostgreSQL: append-only and self-checking whoever writes it.
import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, runMigrations } from '@meterkeep/db';
import { stackEndpoints } from '@meterkeep/testing';
import type { PrivacyDb } from '../src/core/database';
import { migrations } from '../src/migrations';

const EVIDENCE = `web:hh-optin/v3/sha256:${'ab'.repeat(32)}`;

describe('privacy: the consents table', () => {
  const schema = `privacy_it_ledger_${randomBytes(5).toString('hex')}`;
  let db: Kysely<PrivacyDb>;
  const row = (over: Record<string, unknown> = {}) => ({
    consent_id: `con-${randomBytes(8).toString('hex')}`,
    tenant_id: 'utility-north',
    occupancy_id: 'occ-1',
    purpose: 'marketing',
    recipient: 'supplier',
    granularity: 'daily',
    basis: 'consent',
    status: 'granted',
    effective_from: new Date('2026-02-01T00:00:00Z'),
    evidence_ref: EVIDENCE,
    actor: 'key_abc',
    policy: 'gb@1',
    version: 1,
    ...over,
  });

  beforeAll(async () => {
    db = createDatabase<PrivacyDb>({ url: stackEndpoints().databaseUrl, schema, pool: { max: 2 } });
    await runMigrations(db, { schema, migrations });
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('data_keys')
        .values({
          key_id: 'dk-1',
          tenant_id: 'utility-north',
          meter_id: 'MTR-1',
          occupancy_id: 'occ-1',
          wrapped_key: Buffer.alloc(60),
          kek_epoch: 0,
        })
        .execute();
      await trx
        .insertInto('occupancies')
        .values({
          occupancy_id: 'occ-1',
          tenant_id: 'utility-north',
          meter_id: 'MTR-1',
          subject_ref: 'hh-1',
          valid_from: new Date('2026-01-01T00:00:00Z'),
          valid_to: null,
          key_id: 'dk-1',
        })
        .execute();
    });
    await db
      .insertInto('consents')
      .values(row({ consent_id: 'con-first' }))
      .execute();
  });
  afterAll(async () => {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
    await db.destroy();
  });

  const failure = async (action: () => Promise<unknown>) => {
    try {
      await action();
    } catch (error) {
      return (error as { message: string }).message;
    }
    return 'succeeded';
  };

  it('refuses UPDATE, DELETE and TRUNCATE: the ledger is append-only in the database itself', async () => {
    expect(
      await failure(() =>
        db
          .updateTable('consents')
          .set({ granularity: 'half-hourly' })
          .where('consent_id', '=', 'con-first')
          .execute(),
      ),
    ).toMatch(/append-only: UPDATE refused/);
    expect(
      await failure(() => db.deleteFrom('consents').where('consent_id', '=', 'con-first').execute()),
    ).toMatch(/append-only: DELETE refused/);
    expect(await failure(() => sql`truncate consents`.execute(db))).toMatch(/append-only: TRUNCATE refused/);
    const kept = await db
      .selectFrom('consents')
      .selectAll()
      .where('consent_id', '=', 'con-first')
      .executeTakeFirstOrThrow();
    expect(kept.granularity).toBe('daily');
  });

  it('appends a later version of the same occupancy × purpose × recipient, never the same one twice', async () => {
    expect(
      await failure(() =>
        db
          .insertInto('consents')
          .values(row({ version: 2, status: 'withdrawn', granularity: 'none' }))
          .execute(),
      ),
    ).toBe('succeeded');
    expect(
      await failure(() =>
        db
          .insertInto('consents')
          .values(row({ version: 2 }))
          .execute(),
      ),
    ).toMatch(/unique/);
  });

  it.each([
    ['an evidence reference holding an e-mail address', { evidence_ref: 'jane.doe@example.com' }],
    [
      'an evidence reference holding a name and spaces',
      { evidence_ref: `web:Jane Doe/v1/sha256:${'ab'.repeat(32)}` },
    ],
    ['an evidence reference without the hash of the text', { evidence_ref: 'phone:script-7/v2' }],
    ['an unknown granularity', { granularity: 'hourly' }],
    ['an unknown basis', { basis: 'because' }],
    ['an unknown status', { status: 'maybe' }],
    ['a malformed recipient', { recipient: 'third-party:' }],
    ['a period ending before it starts', { effective_to: new Date('2026-01-15T00:00:00Z') }],
    ['a history reaching after the start', { historical_from: new Date('2026-03-01T00:00:00Z') }],
    ['an unknown occupancy', { occupancy_id: 'occ-nope' }],
    ['version 0', { version: 0 }],
  ])('refuses %s', async (_, over) => {
    // A version of its own, so a uniqueness clash can never pass for the check under test.
    const version = 10 + Math.floor(Math.random() * 1_000_000);
    const valid = await failure(() =>
      db
        .insertInto('consents')
        .values(row({ version, purpose: 'billing' }))
        .execute(),
    );
    expect(valid).toBe('succeeded');
    expect(
      await failure(() =>
        db
          .insertInto('consents')
          .values(row({ version: version + 1, purpose: 'billing', ...over }))
          .execute(),
      ),
    ).toMatch(/violates (check|foreign key) constraint/);
  });
});
