import { describe, expect, it } from 'vitest';
import {
  type DeviceChange,
  type ProjectedDevice,
  applyDeviceChange,
  changesRow,
  deviceKey,
  hardwareRevisionToRecord,
  mayJoinCampaigns,
  planDeviceChanges,
} from './device-projection';

const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 0, minute));
const change = (deviceId: string, state: DeviceChange['state'], minute: number, classId?: string | null) => ({
  tenantId: 't1',
  deviceId,
  state,
  at: at(minute),
  ...(classId !== undefined && { classId }),
});
const stored = (entries: [string, ProjectedDevice][]) =>
  new Map(entries.map(([deviceId, device]) => [deviceKey({ tenantId: 't1', deviceId }), device]));

describe('applyDeviceChange', () => {
  it('takes a new device as the event says, without a class when the event has none', () => {
    expect(applyDeviceChange(undefined, change('m1', 'ACTIVE', 1))).toEqual({
      state: 'ACTIVE',
      classId: null,
      gatewayId: null,
      stateAt: at(1),
    });
  });

  it('ignores an older event; a lifecycle event (no class) keeps the class', () => {
    const current: ProjectedDevice = { state: 'ACTIVE', classId: 'em300', gatewayId: null, stateAt: at(5) };
    expect(applyDeviceChange(current, change('m1', 'SUSPENDED', 4, 'em500'))).toBe(current);
    expect(applyDeviceChange(current, change('m1', 'SUSPENDED', 6))).toEqual({
      state: 'SUSPENDED',
      classId: 'em300',
      gatewayId: null,
      stateAt: at(6),
    });
  });

  it('keeps a decommissioned device decommissioned, a later event still moving its class and time', () => {
    const current: ProjectedDevice = {
      state: 'DECOMMISSIONED',
      classId: 'em300',
      gatewayId: null,
      stateAt: at(5),
    };
    expect(applyDeviceChange(current, change('m1', 'ACTIVE', 7, 'em500'))).toEqual({
      state: 'DECOMMISSIONED',
      classId: 'em500',
      gatewayId: null,
      stateAt: at(7),
    });
  });
});

describe('the gateway (enrollment records only)', () => {
  it("takes enrollment's gateway, clears it when a record has none, and a lifecycle event keeps it", () => {
    const current: ProjectedDevice = { state: 'ACTIVE', classId: 'em300', gatewayId: null, stateAt: at(5) };
    const assigned = applyDeviceChange(current, { ...change('m1', 'ACTIVE', 6, 'em300'), gatewayId: 'GW-1' });
    expect(assigned.gatewayId).toBe('GW-1');
    const [plan] = planDeviceChanges(stored([['m1', current]]), [
      { ...change('m1', 'ACTIVE', 6, 'em300'), gatewayId: 'GW-1' },
    ]);
    expect(changesRow(plan!)).toBe(true);
    expect(applyDeviceChange(assigned, change('m1', 'SUSPENDED', 7)).gatewayId).toBe('GW-1');
    expect(
      applyDeviceChange(assigned, { ...change('m1', 'ACTIVE', 8, 'em300'), gatewayId: null }).gatewayId,
    ).toBe(null);
    // An older record never moves it back.
    expect(applyDeviceChange(assigned, { ...change('m1', 'ACTIVE', 4, 'em300'), gatewayId: 'GW-0' })).toBe(
      assigned,
    );
  });
});

describe('planDeviceChanges (a batch folded per device)', () => {
  it("lets a device's later event win, one plan per device, sorted by key", () => {
    const plans = planDeviceChanges(stored([]), [
      change('m2', 'ENROLLED', 1, 'em300'),
      change('m1', 'ACTIVE', 1, 'em300'),
      change('m2', 'ACTIVE', 2),
      change('m2', 'SUSPENDED', 3),
    ]);
    expect(plans.map((p) => [p.deviceId, p.before, p.after])).toEqual([
      ['m1', undefined, { state: 'ACTIVE', classId: 'em300', gatewayId: null, stateAt: at(1) }],
      ['m2', undefined, { state: 'SUSPENDED', classId: 'em300', gatewayId: null, stateAt: at(3) }],
    ]);
  });

  it('ends where applying the events one by one ends, for any interleaving of devices and times', () => {
    const states: DeviceChange['state'][] = ['ENROLLED', 'ACTIVE', 'SUSPENDED', 'DECOMMISSIONED'];
    let seed = 7;
    const next = (n: number) => (seed = (seed * 48_271) % 2_147_483_647) % n;
    for (let round = 0; round < 200; round++) {
      const before = stored([['m0', { state: 'ACTIVE', classId: 'old', gatewayId: null, stateAt: at(10) }]]);
      const changes = Array.from({ length: 1 + next(12) }, () =>
        change(`m${next(3)}`, states[next(4)]!, next(20), [undefined, null, 'em300', 'em500'][next(4)]),
      );
      const oneByOne = new Map(before);
      for (const c of changes) oneByOne.set(deviceKey(c), applyDeviceChange(oneByOne.get(deviceKey(c)), c));
      const plans = planDeviceChanges(before, changes);
      expect(new Map(plans.map((p) => [deviceKey(p), p.after]))).toEqual(
        new Map([...oneByOne].filter(([key]) => plans.some((p) => deviceKey(p) === key))),
      );
    }
  });

  it('writes nothing for a replayed or older event', () => {
    const current: ProjectedDevice = { state: 'ACTIVE', classId: 'em300', gatewayId: null, stateAt: at(5) };
    const [replayed] = planDeviceChanges(stored([['m1', current]]), [
      change('m1', 'ACTIVE', 5, 'em300'),
      change('m1', 'SUSPENDED', 2),
    ]);
    expect(changesRow(replayed!)).toBe(false);
    const [moved] = planDeviceChanges(stored([['m1', current]]), [change('m1', 'SUSPENDED', 6)]);
    expect(changesRow(moved!)).toBe(true);
    const [added] = planDeviceChanges(stored([]), [change('m1', 'ACTIVE', 1)]);
    expect(changesRow(added!)).toBe(true);
  });

  it('keeps tenants apart: the same device id in two tenants is two devices', () => {
    const plans = planDeviceChanges(stored([]), [
      change('m1', 'ACTIVE', 1),
      { ...change('m1', 'SUSPENDED', 2), tenantId: 't0' },
    ]);
    expect(plans.map((p) => [p.tenantId, p.after.state])).toEqual([
      ['t0', 'SUSPENDED'],
      ['t1', 'ACTIVE'],
    ]);
  });
});

describe('mayJoinCampaigns (dynamic campaigns find joiners on the change, not by re-querying)', () => {
  const active: ProjectedDevice = { state: 'ACTIVE', classId: 'em300', gatewayId: null, stateAt: at(5) };
  const plan = (before: ProjectedDevice | undefined, c: DeviceChange) => ({
    before,
    after: applyDeviceChange(before, c),
  });

  it('a new ACTIVE meter with a class, one that became ACTIVE, or moved class or gateway may join', () => {
    expect(mayJoinCampaigns(plan(undefined, change('m1', 'ACTIVE', 6, 'em300')))).toBe(true);
    const suspended = { ...active, state: 'SUSPENDED' as const };
    expect(mayJoinCampaigns(plan(suspended, change('m1', 'ACTIVE', 6)))).toBe(true);
    expect(mayJoinCampaigns(plan(active, change('m1', 'ACTIVE', 6, 'em500')))).toBe(true);
    expect(mayJoinCampaigns(plan(active, { ...change('m1', 'ACTIVE', 6, 'em300'), gatewayId: 'GW-1' }))).toBe(
      true,
    );
  });

  it('a replay, a later time alone, a meter not ACTIVE or without a class never does', () => {
    expect(mayJoinCampaigns(plan(active, change('m1', 'ACTIVE', 5, 'em300')))).toBe(false);
    expect(mayJoinCampaigns(plan(active, change('m1', 'ACTIVE', 9, 'em300')))).toBe(false);
    expect(mayJoinCampaigns(plan(active, change('m1', 'ACTIVE', 4, 'em500')))).toBe(false);
    expect(mayJoinCampaigns(plan(undefined, change('m1', 'ENROLLED', 6, 'em300')))).toBe(false);
    expect(mayJoinCampaigns(plan(undefined, change('m1', 'ACTIVE', 6)))).toBe(false);
    expect(mayJoinCampaigns(plan(active, change('m1', 'SUSPENDED', 6)))).toBe(false);
    const decommissioned = { ...active, state: 'DECOMMISSIONED' as const, classId: 'em500' };
    expect(mayJoinCampaigns(plan(decommissioned, change('m1', 'ACTIVE', 6, 'em300')))).toBe(false);
  });
});

describe('hardwareRevisionToRecord (the revision a meter reports at check-in)', () => {
  it('writes a first or a changed report, nothing for the same one or for a meter that reports none', () => {
    expect(hardwareRevisionToRecord(null, 'rev-b')).toBe('rev-b');
    expect(hardwareRevisionToRecord('rev-a', 'rev-b')).toBe('rev-b');
    expect(hardwareRevisionToRecord('rev-b', 'rev-b')).toBeUndefined();
    expect(hardwareRevisionToRecord('rev-b', undefined)).toBeUndefined();
    expect(hardwareRevisionToRecord(null, undefined)).toBeUndefined();
  });
});
