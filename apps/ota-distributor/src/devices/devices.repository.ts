import { Inject, Injectable } from '@nestjs/common';
import type { OtaComponentId } from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import type { DeviceRow, DeviceState, Executor } from '../core/database';

export interface DeviceChange {
  tenantId: string;
  deviceId: string;
  state: DeviceState;
  /** Set from enrollment's records only; a lifecycle event leaves the class as it is. */
  classId?: string | null;
  /** The event's occurredAt: an older event than the one applied never overrides it. */
  at: Date;
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
   * Applies a change unless a newer one was applied (idempotent: the same event again changes
   * nothing). Answers the row as it now is, and whether the state changed.
   */
  async apply(
    trx: Executor,
    change: DeviceChange,
    now: Date,
  ): Promise<{ row: DeviceRow; previous: DeviceState | undefined }> {
    const current = await trx
      .selectFrom('devices')
      .selectAll()
      .where('tenant_id', '=', change.tenantId)
      .where('device_id', '=', change.deviceId)
      .forUpdate()
      .executeTakeFirst();
    if (!current) {
      const row = await trx
        .insertInto('devices')
        .values({
          tenant_id: change.tenantId,
          device_id: change.deviceId,
          class_id: change.classId ?? null,
          state: change.state,
          state_at: change.at,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return { row, previous: undefined };
    }
    const newer = change.at.getTime() >= current.state_at.getTime();
    // A decommissioned device stays decommissioned (the registry never brings one back).
    const state = current.state === 'DECOMMISSIONED' || !newer ? current.state : change.state;
    const classId = change.classId !== undefined && newer ? change.classId : current.class_id;
    if (state === current.state && classId === current.class_id && !newer)
      return { row: current, previous: current.state };
    const row = await trx
      .updateTable('devices')
      .set({
        state,
        class_id: classId,
        state_at: newer ? change.at : current.state_at,
        updated_at: now,
      })
      .where('tenant_id', '=', change.tenantId)
      .where('device_id', '=', change.deviceId)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { row, previous: current.state };
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
