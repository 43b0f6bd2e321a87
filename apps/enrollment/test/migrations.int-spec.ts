import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { type MigrationSet, createDatabase, runMigrations } from '@meterkeep/db';
import { stackEndpoints } from '@meterkeep/testing';
import { migrations } from '../src/migrations';

const fingerprint = () => randomBytes(32).toString('hex');

describe('enrollment migrations: devices move from global names to names per tenant (real Postgres)', () => {
  const schema = `enrollment_mig_${randomBytes(5).toString('hex')}`;
  const db = createDatabase<unknown>({ url: stackEndpoints().databaseUrl, schema, pool: { max: 1 } });
  afterAll(async () => {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
    await db.destroy();
  });

  it('keeps every existing row (and gateway) through 0003, then lets two tenants use one name and one PSK identity', async () => {
    const before: MigrationSet = Object.fromEntries(
      Object.entries(migrations).filter(([name]) => name < '0003'),
    );
    expect(await runMigrations(db, { schema, migrations: before })).toEqual([
      '0001_create_enrollment_tables',
      '0002_add_device_gateways',
    ]);
    await sql`insert into tenants (tenant_id, name) values ('north', 'North'), ('south', 'South')`.execute(
      db,
    );
    const meter = fingerprint();
    await sql`insert into devices (endpoint_name, tenant_id, credential_kind, certificate_fingerprint, state)
      values ('GW-1', 'north', 'certificate', ${fingerprint()}, 'ACTIVE'),
             ('MTR-1', 'north', 'certificate', ${meter}, 'ENROLLED')`.execute(db);
    await sql`insert into devices (endpoint_name, tenant_id, credential_kind, psk_identity, state)
      values ('PSK-1', 'north', 'psk', 'id-1', 'ENROLLED')`.execute(db);
    await sql`update devices set gateway_id = 'GW-1' where endpoint_name = 'MTR-1'`.execute(db);

    // 0003 and every later migration.
    expect(await runMigrations(db, { schema, migrations })).toEqual(
      Object.keys(migrations).filter((name) => name >= '0003'),
    );
    const rows = await sql<{ endpoint_name: string; tenant_id: string; gateway_id: string | null }>`
      select endpoint_name, tenant_id, gateway_id, certificate_fingerprint from devices order by endpoint_name`.execute(
      db,
    );
    expect(rows.rows).toEqual([
      expect.objectContaining({ endpoint_name: 'GW-1', tenant_id: 'north', gateway_id: null }),
      expect.objectContaining({
        endpoint_name: 'MTR-1',
        tenant_id: 'north',
        gateway_id: 'GW-1',
        certificate_fingerprint: meter,
      }),
      expect.objectContaining({ endpoint_name: 'PSK-1', tenant_id: 'north' }),
    ]);

    // Another tenant: the same name and PSK identity are its own; the same tenant cannot repeat them.
    await sql`insert into devices (endpoint_name, tenant_id, credential_kind, certificate_fingerprint, state)
      values ('MTR-1', 'south', 'certificate', ${fingerprint()}, 'ENROLLED')`.execute(db);
    await sql`insert into devices (endpoint_name, tenant_id, credential_kind, psk_identity, state)
      values ('PSK-9', 'south', 'psk', 'id-1', 'ENROLLED')`.execute(db);
    await expect(
      sql`insert into devices (endpoint_name, tenant_id, credential_kind, certificate_fingerprint, state)
        values ('MTR-1', 'north', 'certificate', ${fingerprint()}, 'ENROLLED')`.execute(db),
    ).rejects.toThrow(/devices_pkey/);
    await expect(
      sql`insert into devices (endpoint_name, tenant_id, credential_kind, psk_identity, state)
        values ('PSK-2', 'north', 'psk', 'id-1', 'ENROLLED')`.execute(db),
    ).rejects.toThrow(/devices_psk_identity/);
    // No gateway across tenants, as before.
    await expect(
      sql`update devices set gateway_id = 'GW-1' where endpoint_name = 'MTR-1' and tenant_id = 'south'`.execute(
        db,
      ),
    ).rejects.toThrow(/devices_gateway_same_tenant/);
  });
});
