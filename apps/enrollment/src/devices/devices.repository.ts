import { Inject, Injectable } from '@nestjs/common';
import type { Insertable, Updateable } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { DeviceRow, DevicesTable, Executor } from '../core/database';
import type { DeviceState } from './device-state-machine';

export interface DeviceKey {
  tenantId: string;
  endpointName: string;
}

export interface DeviceFilter {
  state?: DeviceState;
  model?: string;
  batchId?: string;
}

/** The device registry of record. Reads by the API are always scoped to a tenant. */
@Injectable()
export class DevicesRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  /** Inserts the devices no unique key refuses (tenant and endpoint, tenant and PSK identity). */
  insertNew(executor: Executor, devices: Insertable<DevicesTable>[]): Promise<DeviceRow[]> {
    if (devices.length === 0) return Promise.resolve([]);
    return executor
      .insertInto('devices')
      .values(devices)
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .execute();
  }

  /** The tenant's devices with these endpoint names, locked in endpoint order. */
  lockByEndpoints(executor: Executor, tenantId: string, endpoints: readonly string[]): Promise<DeviceRow[]> {
    if (endpoints.length === 0) return Promise.resolve([]);
    return executor
      .selectFrom('devices')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('endpoint_name', 'in', endpoints)
      .orderBy('endpoint_name')
      .forUpdate()
      .execute();
  }

  /** The devices with these (tenant, endpoint) keys, locked in key order. */
  lockByKeys(executor: Executor, keys: readonly DeviceKey[]): Promise<DeviceRow[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return executor
      .selectFrom('devices')
      .selectAll()
      .where((eb) =>
        eb(
          eb.refTuple('tenant_id', 'endpoint_name'),
          'in',
          keys.map((key) => eb.tuple(key.tenantId, key.endpointName)),
        ),
      )
      .orderBy('tenant_id')
      .orderBy('endpoint_name')
      .forUpdate()
      .execute();
  }

  /** Which of the tenant's endpoints holds each of these PSK identities. */
  async pskIdentityOwners(
    executor: Executor,
    tenantId: string,
    identities: readonly string[],
  ): Promise<Map<string, string>> {
    if (identities.length === 0) return new Map();
    const rows = await executor
      .selectFrom('devices')
      .select(['psk_identity', 'endpoint_name'])
      .where('tenant_id', '=', tenantId)
      .where('psk_identity', 'in', identities)
      .execute();
    return new Map(rows.map((row) => [row.psk_identity!, row.endpoint_name]));
  }

  /**
   * The devices a PSK identity names, across tenants (at most one per tenant; at most `limit`): only
   * the holder of the key can tell which is its own.
   */
  findByPskIdentity(pskIdentity: string, limit: number): Promise<DeviceRow[]> {
    return this.db
      .selectFrom('devices')
      .selectAll()
      .where('psk_identity', '=', pskIdentity)
      .orderBy('created_at')
      .orderBy('tenant_id')
      .limit(limit)
      .execute();
  }

  lockForTenant(executor: Executor, tenantId: string, endpoint: string): Promise<DeviceRow | undefined> {
    return executor
      .selectFrom('devices')
      .selectAll()
      .where('endpoint_name', '=', endpoint)
      .where('tenant_id', '=', tenantId)
      .forUpdate()
      .executeTakeFirst();
  }

  findForTenant(tenantId: string, endpoint: string): Promise<DeviceRow | undefined> {
    return this.db
      .selectFrom('devices')
      .selectAll()
      .where('endpoint_name', '=', endpoint)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
  }

  /** Bumps the version with every change. */
  update(
    executor: Executor,
    tenantId: string,
    endpoint: string,
    patch: Omit<Updateable<DevicesTable>, 'version' | 'updated_at'>,
    at: Date,
  ): Promise<DeviceRow> {
    return executor
      .updateTable('devices')
      .set((eb) => ({ ...patch, updated_at: at, version: eb('version', '+', 1) }))
      .where('tenant_id', '=', tenantId)
      .where('endpoint_name', '=', endpoint)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** One page in endpoint-name order, after `after` (keyset pagination). */
  listPage(
    tenantId: string,
    filter: DeviceFilter,
    after: string | undefined,
    limit: number,
  ): Promise<DeviceRow[]> {
    let query = this.db.selectFrom('devices').selectAll().where('tenant_id', '=', tenantId);
    if (filter.state) query = query.where('state', '=', filter.state);
    if (filter.model) query = query.where('model', '=', filter.model);
    if (filter.batchId) query = query.where('batch_id', '=', filter.batchId);
    if (after !== undefined) query = query.where('endpoint_name', '>', after);
    return query.orderBy('endpoint_name').limit(limit).execute();
  }
}
