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
});
