import { type Kysely, type Migration, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { DbError, runMigrations } from '../src';
import { TestSchemas, uniqueSchema, waitUntil } from './db-test-helpers';

const MIGRATION_TABLES = ['kysely_migration', 'kysely_migration_lock'];

const createDevices: Migration = {
  async up(db) {
    await db.schema
      .createTable('devices')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('state', 'text', (col) => col.notNull())
      .execute();
  },
};
const createDeviceEvents: Migration = {
  async up(db) {
    await db.schema
      .createTable('device_events')
      .addColumn('id', 'bigserial', (col) => col.primaryKey())
      .addColumn('device_id', 'text', (col) => col.notNull().references('devices.id'))
      .execute();
  },
};

interface DeviceDb {
  devices: { id: string; state: string };
}

async function appliedNames(db: Kysely<unknown>, schema: string): Promise<string[]> {
  const { rows } = await sql<{
    name: string;
  }>`select name from ${sql.id(schema, 'kysely_migration')} order by name`.execute(db);
  return rows.map((row) => row.name);
}

describe('runMigrations (real PostgreSQL)', () => {
  const schemas = new TestSchemas();
  afterAll(() => schemas.cleanUp());

  it('applies pending migrations into the service schema only, and re-running is a no-op', async () => {
    const schema = uniqueSchema();
    const db = schemas.open<DeviceDb>(schema);
    const migrations = {
      '0001_create_devices': createDevices,
      '0002_create_device_events': createDeviceEvents,
    };
    const devicesElsewhere = () =>
      sql<{ n: number }>`select count(*)::int as n from information_schema.tables
        where table_name in ('devices', 'device_events') and table_schema <> ${schema}`.execute(
        schemas.admin,
      );
    const before = (await devicesElsewhere()).rows[0]?.n;

    await expect(runMigrations(db, { schema, migrations })).resolves.toEqual([
      '0001_create_devices',
      '0002_create_device_events',
    ]);
    await expect(runMigrations(db, { schema, migrations })).resolves.toEqual([]);

    expect(await schemas.tablesIn(schema)).toEqual(['device_events', 'devices', ...MIGRATION_TABLES]);
    expect((await devicesElsewhere()).rows[0]?.n).toBe(before);
    // Unqualified names in the service's queries resolve to its schema.
    await db.insertInto('devices').values({ id: 'mtr-1', state: 'ENROLLED' }).execute();
    const { rows } = await sql<{ id: string }>`select id from ${sql.id(schema, 'devices')}`.execute(
      schemas.admin,
    );
    expect(rows).toEqual([{ id: 'mtr-1' }]);
  });

  it('names a failing migration and rolls back its whole batch', async () => {
    const schema = uniqueSchema();
    const db = schemas.open(schema);
    await runMigrations(db, { schema, migrations: { '0001_create_devices': createDevices } });

    const addFirmware: Migration = {
      async up(trx) {
        await trx.schema
          .createTable('firmware')
          .addColumn('digest', 'text', (col) => col.primaryKey())
          .execute();
        await trx.schema.alterTable('devices').addColumn('firmware_digest', 'text').execute();
      },
    };
    const broken: Migration = {
      async up(trx) {
        await trx.schema.createTable('campaigns').addColumn('id', 'text').execute();
        await sql`insert into no_such_table values (1)`.execute(trx);
      },
    };
    const later: Migration = {
      up: (trx) => trx.schema.createTable('later').addColumn('id', 'text').execute(),
    };
    const migrations = {
      '0001_create_devices': createDevices,
      '0002_add_firmware': addFirmware,
      '0003_broken': broken,
      '0004_later': later,
    };

    const failure = await runMigrations(db, { schema, migrations }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(DbError);
    expect(failure).toMatchObject({ code: 'MIGRATION_FAILED', migrationName: '0003_broken' });
    expect((failure as Error).message).toMatch(/0003_broken.*no_such_table/);

    expect(await schemas.tablesIn(schema)).toEqual(['devices', ...MIGRATION_TABLES]);
    expect(await appliedNames(schemas.admin, schema)).toEqual(['0001_create_devices']);
    const { rows: columns } = await sql<{
      column_name: string;
    }>`select column_name from information_schema.columns
      where table_schema = ${schema} and table_name = 'devices' order by column_name`.execute(schemas.admin);
    expect(columns.map((c) => c.column_name)).toEqual(['id', 'state']);

    // Once fixed, the same batch applies.
    const fixed = {
      ...migrations,
      '0003_broken': {
        up: (trx: Kysely<unknown>) => trx.schema.createTable('campaigns').addColumn('id', 'text').execute(),
      },
    };
    await expect(runMigrations(db, { schema, migrations: fixed })).resolves.toEqual([
      '0002_add_firmware',
      '0003_broken',
      '0004_later',
    ]);
  });

  it('lets only one of two replicas starting together apply the migrations', async () => {
    const schema = uniqueSchema();
    const replicaA = schemas.open(schema);
    const replicaB = schemas.open(schema);
    const migrations: Record<string, Migration> = {
      '0001_create_devices': {
        async up(trx) {
          await createDevices.up(trx);
          // Long enough for the other replica to arrive and queue on the lock.
          await sql`select pg_sleep(1.5)`.execute(trx);
        },
      },
      '0002_count_runs': {
        async up(trx) {
          await trx.schema.createTable('runs').addColumn('n', 'integer').execute();
          await sql`insert into runs values (1)`.execute(trx);
        },
      },
    };

    const replicas = Promise.allSettled([
      runMigrations(replicaA, { schema, migrations }),
      runMigrations(replicaB, { schema, migrations }),
    ]);
    // Proof that they overlapped: one session waited on the advisory lock while the other migrated.
    const sawWaiter = waitUntil(
      async () => {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
          where application_name = ${schema} and wait_event_type = 'Lock' and wait_event = 'advisory'`.execute(
          schemas.admin,
        );
        return (rows[0]?.n ?? 0) > 0;
      },
      { timeoutMs: 5_000, intervalMs: 50, description: 'a replica waiting on the migration lock' },
    ).then(
      () => true,
      () => false,
    );
    const [settled, waited] = await Promise.all([replicas, sawWaiter]);
    const results = settled.map((outcome) => {
      if (outcome.status === 'rejected') throw outcome.reason;
      return outcome.value;
    });

    expect(waited).toBe(true);
    expect(results.map((names) => names.length).sort()).toEqual([0, 2]);
    expect(results.flat()).toEqual(['0001_create_devices', '0002_count_runs']);
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from ${sql.id(schema, 'runs')}`.execute(schemas.admin);
    expect(rows[0]?.n).toBe(1);
  });
});
