import type { DeviceState } from '../core/database';

export interface DeviceChange {
  tenantId: string;
  deviceId: string;
  state: DeviceState;
  /** Set from enrollment's records only; undefined (a lifecycle event) leaves the class as it is. */
  classId?: string | null;
  /** The meter's gateway, from enrollment's records only (null: none); undefined leaves it as it is. */
  gatewayId?: string | null;
  /** The event's occurredAt: an older event than the one applied never overrides it. */
  at: Date;
}

/** What the projection holds of a device, beside what check-in writes. */
export interface ProjectedDevice {
  state: DeviceState;
  classId: string | null;
  gatewayId: string | null;
  /** occurredAt of the newest event applied. */
  stateAt: Date;
}

export interface DeviceKey {
  tenantId: string;
  deviceId: string;
}

/**
 * One event applied to what is projected (none yet: the device is new). Idempotent: the same event
 * again changes nothing; an older one than the last applied changes nothing; a decommissioned device
 * stays decommissioned (the registry never brings one back).
 */
export function applyDeviceChange(
  current: ProjectedDevice | undefined,
  change: DeviceChange,
): ProjectedDevice {
  if (!current)
    return {
      state: change.state,
      classId: change.classId ?? null,
      gatewayId: change.gatewayId ?? null,
      stateAt: change.at,
    };
  const newer = change.at.getTime() >= current.stateAt.getTime();
  if (!newer) return current;
  return {
    state: current.state === 'DECOMMISSIONED' ? current.state : change.state,
    classId: change.classId !== undefined ? change.classId : current.classId,
    gatewayId: change.gatewayId !== undefined ? change.gatewayId : current.gatewayId,
    stateAt: change.at,
  };
}

export interface DevicePlan extends DeviceKey {
  /** As stored before the batch; undefined for a device the projection does not hold yet. */
  before: ProjectedDevice | undefined;
  after: ProjectedDevice;
}

/**
 * A batch of events folded per device, in the order given (a partition's offset order, which is
 * each device's order: events are keyed by device). The same outcome as applying them one by one.
 * Answers one plan per device, sorted by key (rows are written, hence locked, in that order).
 */
export function planDeviceChanges(
  stored: ReadonlyMap<string, ProjectedDevice>,
  changes: readonly DeviceChange[],
): DevicePlan[] {
  const plans = new Map<string, DevicePlan>();
  for (const change of changes) {
    const key = deviceKey(change);
    const plan = plans.get(key);
    if (plan) {
      plan.after = applyDeviceChange(plan.after, change);
      continue;
    }
    const before = stored.get(key);
    plans.set(key, {
      tenantId: change.tenantId,
      deviceId: change.deviceId,
      before,
      after: applyDeviceChange(before, change),
    });
  }
  return [...plans.values()].sort(compareKeys);
}

/** Whether the plan writes anything: a replayed or older event leaves the row untouched. */
export function changesRow(plan: DevicePlan): boolean {
  const { before, after } = plan;
  return (
    !before ||
    before.state !== after.state ||
    before.classId !== after.classId ||
    before.gatewayId !== after.gatewayId ||
    before.stateAt.getTime() !== after.stateAt.getTime()
  );
}

/**
 * Whether a device's registry change may make it a member of a running dynamic campaign (spec §6.1:
 * joiners are found on the change, never by re-querying): it is ACTIVE with a class now, and it is new,
 * or became ACTIVE, or moved class or gateway. A replayed event, or a change of time alone, never does.
 */
export function mayJoinCampaigns(plan: Pick<DevicePlan, 'before' | 'after'>): boolean {
  const { before, after } = plan;
  if (after.state !== 'ACTIVE' || after.classId === null) return false;
  return (
    !before ||
    before.state !== 'ACTIVE' ||
    before.classId !== after.classId ||
    before.gatewayId !== after.gatewayId
  );
}

/**
 * The hardware revision to write for a check-in's report, or undefined to write nothing: a meter that
 * reports none (older firmware) keeps what is recorded, the same report again writes nothing.
 */
export function hardwareRevisionToRecord(
  recorded: string | null,
  reported: string | undefined,
): string | undefined {
  return reported === undefined || reported === recorded ? undefined : reported;
}

export function deviceKey({ tenantId, deviceId }: DeviceKey): string {
  // Neither part may hold a NUL (endpoint names and tenant ids are printable).
  return `${tenantId}\u0000${deviceId}`;
}

export function compareKeys(a: DeviceKey, b: DeviceKey): number {
  if (a.tenantId !== b.tenantId) return a.tenantId < b.tenantId ? -1 : 1;
  if (a.deviceId !== b.deviceId) return a.deviceId < b.deviceId ? -1 : 1;
  return 0;
}
