import { Inject, Injectable } from '@nestjs/common';
import type { Insertable, Updateable } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { DeviceRow, DevicesTable, Executor } from '../core/database';
import type { DeviceState } from './device-state-machine';

export interface DeviceFilter {
  state?: DeviceState;
  model?: string;
  batchId?: string;
}

/** The device registry of record. Reads by the API are always scoped to a tenant. */
@Injectable()
export class DevicesRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  /** Inserts the devices no unique key refuses (endpoint name, PSK identity); returns those inserted. */
  insertNew(executor: Executor, devices: Insertable<DevicesTable>[]): Promise<DeviceRow[]> {
    if (devices.length === 0) return Promise.resolve([]);
    return executor
      .insertInto('devices')
      .values(devices)
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .execute();
  }

  /** The devices with these endpoint names, whatever their tenant, locked in endpoint order. */
  lockByEndpoints(executor: Executor, endpoints: readonly string[]): Promise<DeviceRow[]> {
    if (endpoints.length === 0) return Promise.resolve([]);
    return executor
      .selectFrom('devices')
      .selectAll()
      .where('endpoint_name', 'in', endpoints)
      .orderBy('endpoint_name')
      .forUpdate()
      .execute();
  }

  /** Which endpoint holds each of these PSK identities. */
  async pskIdentityOwners(executor: Executor, identities: readonly string[]): Promise<Map<string, string>> {
    if (identities.length === 0) return new Map();
    const rows = await executor
      .selectFrom('devices')
      .select(['psk_identity', 'endpoint_name'])
      .where('psk_identity', 'in', identities)
      .execute();
    return new Map(rows.map((row) => [row.psk_identity!, row.endpoint_name]));
  }

  /** The device a PSK identity names, whatever its tenant (identities are unique platform-wide). */
  findByPskIdentity(pskIdentity: string): Promise<DeviceRow | undefined> {
    return this.db
      .selectFrom('devices')
      .selectAll()
      .where('psk_identity', '=', pskIdentity)
      .executeTakeFirst();
  }

  lock(executor: Executor, endpoint: string): Promise<DeviceRow | undefined> {
    return executor
      .selectFrom('devices')
      .selectAll()
      .where('endpoint_name', '=', endpoint)
      .forUpdate()
      .executeTakeFirst();
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
    endpoint: string,
    patch: Omit<Updateable<DevicesTable>, 'version' | 'updated_at'>,
    at: Date,
  ): Promise<DeviceRow> {
    return executor
      .updateTable('devices')
      .set((eb) => ({ ...patch, updated_at: at, version: eb('version', '+', 1) }))
      .where('endpoint_name', '=', endpoint)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Takes the gateway away from every meter of the tenant behind it; returns those meters, updated. */
  releaseGateway(executor: Executor, tenantId: string, gatewayId: string, at: Date): Promise<DeviceRow[]> {
    return executor
      .updateTable('devices')
      .set((eb) => ({ gateway_id: null, updated_at: at, version: eb('version', '+', 1) }))
      .where('tenant_id', '=', tenantId)
      .where('gateway_id', '=', gatewayId)
      .returningAll()
      .execute();
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
