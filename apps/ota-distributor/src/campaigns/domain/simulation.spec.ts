import { describe, expect, it } from 'vitest';
import { planMembership } from './membership';
import { type SimulationInput, simulateCampaign } from './simulation';

const targets = (n: number, digest: string | null = 'aa'.repeat(32), onPrecursor = true) =>
  Array.from({ length: n }, (_, i) => ({
    deviceId: `MTR-${String(i).padStart(6, '0')}`,
    installedManifestDigest: digest,
    onPrecursor,
  }));

const input = (over: Partial<SimulationInput> = {}): SimulationInput => ({
  campaignId: 'c-1',
  targets: targets(1_000),
  phases: [
    { name: 'canary', size: { count: 10 }, minSoakMinutes: 60 },
    { name: '10%', size: { percent: 10 }, minSoakMinutes: 120 },
    { name: 'all', size: { percent: 100 }, minSoakMinutes: 1440 },
  ],
  bytesPerDevice: 2_000_000,
  hasDelta: false,
  rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 },
  maintenanceWindows: [],
  startAt: new Date('2026-12-03T10:00:00Z'),
  ...over,
});

describe('simulateCampaign', () => {
  it('counts exactly what start would plan: the same members per phase, bytes for each', () => {
    const sim = simulateCampaign(input());
    const plan = planMembership(
      'c-1',
      targets(1_000).map((t) => ({ deviceId: t.deviceId, gatewayId: null, hardwareRevision: null })),
      input().phases.map((p) => p.size),
    );
    expect(sim.phases.map((p) => p.devices)).toEqual(plan.phases.map((p) => p.length));
    expect(sim.phases.map((p) => p.devices)).toEqual([10, 90, 900]);
    expect(sim.bytes).toEqual({
      perDevice: 2_000_000,
      total: 1_000 * 2_000_000,
      byGateway: [{ gatewayId: null, devices: 1_000, bytes: 1_000 * 2_000_000 }],
    });
  });

  it('counts targets per hardware revision, and each phase takes its share of every revision', () => {
    // 600 meters of rev-b, 300 of rev-a, 100 that never reported one; 10 / 90 / 900 per phase.
    const revisions = (i: number) => (i % 10 < 6 ? 'rev-b' : i % 10 < 9 ? 'rev-a' : null);
    const sim = simulateCampaign(
      input({ targets: targets(1_000).map((t, i) => ({ ...t, hardwareRevision: revisions(i) })) }),
    );
    expect(sim.byHardwareRevision).toEqual([
      { hardwareRevision: 'rev-b', devices: 600, phaseDevices: [6, 54, 540] },
      { hardwareRevision: 'rev-a', devices: 300, phaseDevices: [3, 27, 270] },
      { hardwareRevision: null, devices: 100, phaseDevices: [1, 9, 90] },
    ]);
    // Without revisions, one null stratum holds every target.
    expect(simulateCampaign(input()).byHardwareRevision).toEqual([
      { hardwareRevision: null, devices: 1_000, phaseDevices: [10, 90, 900] },
    ]);
  });

  it('predicts notification minutes at the rate, and soaks between phases (not after the last)', () => {
    const sim = simulateCampaign(input());
    expect(sim.phases.map((p) => [p.notifyMinutes, p.soakMinutes])).toEqual([
      [1, 60],
      [1, 120],
      [9, 0],
    ]);
    expect(sim.duration).toEqual({
      notifyMinutes: 11,
      soakMinutes: 180,
      totalMinutes: 191,
      firstInstallWindowAt: null,
    });
  });

  it('follows the exponential increase: a slower start than the flat rate, never above the cap', () => {
    const flat = simulateCampaign(input({ rollout: { maxPerMinute: 100, perGatewayConcurrency: 50 } }));
    const ramp = simulateCampaign(
      input({
        rollout: {
          maxPerMinute: 100,
          perGatewayConcurrency: 50,
          exponential: { base: 10, factor: 2, increaseAfter: { notified: 50 } },
        },
      }),
    );
    expect(ramp.duration.notifyMinutes).toBeGreaterThan(flat.duration.notifyMinutes);
    // 1,000 at no more than 100 a minute: at least 10 minutes, however it ramps.
    expect(ramp.duration.notifyMinutes).toBeGreaterThanOrEqual(10);
  });

  it('a delta leaves out the meters not on its precursor, and says how many', () => {
    const mixed = [...targets(700, 'aa'.repeat(32), true), ...targets(300, 'bb'.repeat(32), false)].map(
      (t, i) => ({ ...t, deviceId: `MTR-${i}` }),
    );
    const sim = simulateCampaign(input({ targets: mixed, hasDelta: true }));
    expect(sim.compatibility).toEqual({ compatible: 700, refusedWrongPrecursor: 300 });
    expect(sim.phases.reduce((n, p) => n + p.devices, 0)).toBe(700);
    expect(sim.byInstalledManifest).toEqual([
      { manifestDigest: 'aa'.repeat(32), devices: 700 },
      { manifestDigest: 'bb'.repeat(32), devices: 300 },
    ]);
    // Without a delta every target is compatible, whatever it runs.
    expect(simulateCampaign(input({ targets: mixed })).compatibility.refusedWrongPrecursor).toBe(0);
  });

  it('names the first maintenance window installs may use, in its zone', () => {
    const sim = simulateCampaign(
      input({ maintenanceWindows: [{ cron: '0 2 * * *', durationMinutes: 120, timezone: 'Europe/London' }] }),
    );
    expect(sim.duration.firstInstallWindowAt).toBe('2026-12-04T02:00:00.000Z');
  });

  it('counts named members that are not targets', () => {
    const sim = simulateCampaign(
      input({
        phases: [
          { name: 'named', size: { deviceIds: ['MTR-000001', 'MTR-GONE'] }, minSoakMinutes: 0 },
          { name: 'all', size: { percent: 100 }, minSoakMinutes: 0 },
        ],
      }),
    );
    expect(sim.explicitNotTargeted).toBe(1);
    expect(sim.phases.map((p) => p.devices)).toEqual([1, 999]);
  });

  it("admits as admission does: a gateway's concurrency per minute and its bytes per sliding hour", () => {
    const behind = (gatewayId: string, n: number) =>
      targets(n).map((t) => ({ ...t, deviceId: `${gatewayId}-${t.deviceId}`, gatewayId }));
    const onePhase = [{ name: 'all', size: { percent: 100 }, minSoakMinutes: 0 }];
    // 10 behind one gateway at 2 a minute: 5 minutes, though the rate allows all 10 in one.
    const concurrency = simulateCampaign(
      input({
        targets: behind('GW-A', 10),
        phases: onePhase,
        rollout: { maxPerMinute: 100, perGatewayConcurrency: 2 },
      }),
    );
    expect(concurrency.phases[0]).toMatchObject({ devices: 10, notifyMinutes: 5 });
    // Two downloads an hour: 5 meters take minutes 0, 0, 60, 60, 120 (121 minutes).
    const bytes = simulateCampaign(
      input({
        targets: behind('GW-B', 5),
        phases: onePhase,
        rollout: { maxPerMinute: 100, perGatewayConcurrency: 50, perGatewayBytesPerHour: 4_000_000 },
      }),
    );
    expect(bytes.phases[0]!.notifyMinutes).toBe(121);
    expect(bytes.neverAdmitted).toBe(0);
    // A budget below one download: never admitted, not waited on; direct meters go on.
    const never = simulateCampaign(
      input({
        targets: [...behind('GW-C', 3), ...targets(2)],
        phases: onePhase,
        rollout: { maxPerMinute: 100, perGatewayConcurrency: 50, perGatewayBytesPerHour: 1_000_000 },
      }),
    );
    expect(never).toMatchObject({ neverAdmitted: 3, phases: [{ devices: 5, notifyMinutes: 1 }] });
  });
});
