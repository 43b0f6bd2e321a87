import { NestFactory } from '@nestjs/core';
import { type Kysely, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresHealthProbe } from '../src';
import { DATABASE, DbModule } from '../src/nest';
import { TestSchemas, uniqueSchema, waitUntil } from './db-test-helpers';

interface DeviceDb {
  devices: { id: string };
}

describe('DbModule (real PostgreSQL)', () => {
  const schemas = new TestSchemas();
  afterAll(() => schemas.cleanUp());

  it('migrates on start, provides DATABASE and the probe, and ends the pool on shutdown', async () => {
    const schema = schemas.claim(uniqueSchema());
    const app = await NestFactory.createApplicationContext(
      DbModule.forRoot({
        url: schemas.url,
        schema,
        runMigrationsOnStart: true,
        migrations: {
          '0001_create_devices': {
            up: (db) => db.schema.createTable('devices').addColumn('id', 'text').execute(),
          },
        },
      }),
      { logger: false },
    );
    const db = app.get<Kysely<DeviceDb>>(DATABASE);
    await db.insertInto('devices').values({ id: 'mtr-1' }).execute();
    await expect(db.selectFrom('devices').select('id').execute()).resolves.toEqual([{ id: 'mtr-1' }]);
    await expect(app.get(PostgresHealthProbe).check()).resolves.toBeUndefined();

    await app.close();

    await expect(db.selectFrom('devices').selectAll().execute()).rejects.toThrow();
    await waitUntil(
      async () => {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
        where application_name = ${schema}`.execute(schemas.admin);
        return rows[0]?.n === 0;
      },
      { description: 'the module pool to disconnect' },
    );
  });
});
