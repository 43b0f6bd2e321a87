import { Inject, Injectable } from '@nestjs/common';
import type { OtaComponentId } from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import { sql } from 'kysely';
import type { DeviceRow, DeviceState, Executor } from '../core/database';
import {
  type DeviceChange,
  type DeviceKey,
  type ProjectedDevice,
  changesRow,
  deviceKey,
  mayJoinCampaigns,
  planDeviceChanges,
} from './device-projection';

/** A device a batch touched, as it now is. */
export interface AppliedDevice extends DeviceKey {
  state: DeviceState;
  /** Its change may make it a member of a running dynamic campaign (see mayJoinCampaigns). */
  mayJoin: boolean;
}

/** Thrown when a row appeared between the batch's read and its insert: the batch is retried whole. */
export class ConcurrentDeviceInsertError extends Error {
  constructor(count: number) {
    super(`${count} device row(s) were inserted concurrently; the batch must be applied again`);
    this.name = 'ConcurrentDeviceInsertError';
  }
}

/** The distributor's projection of the device registry (enrollment is the registry of record). */
@Injectable()
export class DevicesRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  find(tenantId: string, deviceId: string, executor: Executor = this.db): Promise<DeviceRow | undefined> {
    return executor
      .selectFrom('devices')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
  }

  findMany(trx: Executor, tenantId: string, deviceIds: readonly string[]): Promise<DeviceRow[]> {
    if (deviceIds.length === 0) return Promise.resolve([]);
    return trx
      .selectFrom('devices')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('device_id', 'in', deviceIds)
      .execute();
  }

  /**
   * Applies a batch of changes in set-based statements: one read that locks the rows the batch
   * touches, the events folded per device in memory (later wins, see planDeviceChanges), one insert
   * of the new devices and one upsert of the changed ones. Answers every touched device as it now is.
   */
  async applyAll(trx: Executor, changes: readonly DeviceChange[], now: Date): Promise<AppliedDevice[]> {
    if (changes.length === 0) return [];
    const keys = [...new Map(changes.map((change) => [deviceKey(change), change])).values()];
    // A join on two arrays, not `(tenant_id, device_id) in (...)`: PostgreSQL took ~0.5 s to plan
    // that list of 500 pairs, ~1 ms this.
    const { rows } = await sql<
      Pick<DeviceRow, 'tenant_id' | 'device_id' | 'state' | 'class_id' | 'gateway_id' | 'state_at'>
    >`
      select d.tenant_id, d.device_id, d.state, d.class_id, d.gateway_id, d.state_at
      from devices d
      join unnest(${keys.map((key) => key.tenantId)}::text[], ${keys.map((key) => key.deviceId)}::text[])
        as k (tenant_id, device_id)
        on d.tenant_id = k.tenant_id and d.device_id = k.device_id
      order by d.tenant_id, d.device_id
      for update of d`.execute(trx);
    const stored = new Map<string, ProjectedDevice>(
      rows.map((row) => [
        deviceKey({ tenantId: row.tenant_id, deviceId: row.device_id }),
        { state: row.state, classId: row.class_id, gatewayId: row.gateway_id, stateAt: row.state_at },
      ]),
    );
    const plans = planDeviceChanges(stored, changes);
    const values = (list: typeof plans) =>
      list.map(({ tenantId, deviceId, after }) => ({
        tenant_id: tenantId,
        device_id: deviceId,
        class_id: after.classId,
        gateway_id: after.gatewayId,
        state: after.state,
        state_at: after.stateAt,
        updated_at: now,
      }));
    const added = plans.filter((plan) => !plan.before);
    if (added.length > 0) {
      const inserted = await trx
        .insertInto('devices')
        .values(values(added))
        .onConflict((oc) => oc.columns(['tenant_id', 'device_id']).doNothing())
        .returning('device_id')
        .execute();
      // Another writer's row would be overwritten by a plan that did not see it: start again.
      if (inserted.length !== added.length)
        throw new ConcurrentDeviceInsertError(added.length - inserted.length);
    }
    const changed = plans.filter((plan) => plan.before && changesRow(plan));
    if (changed.length > 0) {
      // The rows exist and are locked: an upsert is one statement for all of them.
      await trx
        .insertInto('devices')
        .values(values(changed))
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'device_id']).doUpdateSet((eb) => ({
            state: eb.ref('excluded.state'),
            class_id: eb.ref('excluded.class_id'),
            gateway_id: eb.ref('excluded.gateway_id'),
            state_at: eb.ref('excluded.state_at'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    }
    return plans.map((plan) => ({
      tenantId: plan.tenantId,
      deviceId: plan.deviceId,
      state: plan.after.state,
      mayJoin: mayJoinCampaigns(plan),
    }));
  }

  /** The image of a component a receipt last proved the device runs. */
  installedComponent(tenantId: string, deviceId: string, component: OtaComponentId) {
    return this.db
      .selectFrom('installed_firmware')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('device_id', '=', deviceId)
      .where('component', '=', component)
      .executeTakeFirst();
  }

  /** Every component a receipt proved the device runs. */
  installed(tenantId: string, deviceId: string) {
    return this.db
      .selectFrom('installed_firmware')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('device_id', '=', deviceId)
      .orderBy('component')
      .execute();
  }

  /**
   * The meter checked in at `now`: written only when the recorded time is older than `everySeconds`
   * (another replica may have written it meanwhile: then nothing changes).
   */
  async recordCheckIn(tenantId: string, deviceId: string, now: Date, everySeconds: number): Promise<void> {
    await this.db
      .updateTable('devices')
      .set({ last_check_in_at: now })
      .where('tenant_id', '=', tenantId)
      .where('device_id', '=', deviceId)
      .where((eb) =>
        eb.or([
          eb('last_check_in_at', 'is', null),
          eb('last_check_in_at', '<=', new Date(now.getTime() - everySeconds * 1000)),
        ]),
      )
      .execute();
  }

  /** The hardware revision the meter reports at check-in (a stratum of campaign membership). */
  async recordHardwareRevision(tenantId: string, deviceId: string, hardwareRevision: string): Promise<void> {
    await this.db
      .updateTable('devices')
      .set({ hardware_revision: hardwareRevision, updated_at: new Date() })
      .where('tenant_id', '=', tenantId)
      .where('device_id', '=', deviceId)
      .where((eb) => eb('hardware_revision', 'is distinct from', hardwareRevision))
      .execute();
  }

  /** What the meter says it runs (a check-in that reports a new digest); a cheap no-op otherwise. */
  async recordReported(tenantId: string, deviceId: string, manifestDigest: string | null): Promise<void> {
    await this.db
      .updateTable('devices')
      .set({ reported_manifest_digest: manifestDigest, updated_at: new Date() })
      .where('tenant_id', '=', tenantId)
      .where('device_id', '=', deviceId)
      .where((eb) => eb('reported_manifest_digest', 'is distinct from', manifestDigest))
      .execute();
  }
}
