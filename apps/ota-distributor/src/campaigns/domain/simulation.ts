import { type RolloutConfig, currentRate } from './admission';
import { type MaintenanceWindow, nextWindow } from './maintenance-window';
import { type PhaseSize, planMembership } from './membership';

/**
 * What a campaign would do if started now (spec §6.1 "simulate"): pure, from the registry's answer.
 * Exact: target counts, their installed firmware, compatibility with a delta's precursor, the phases'
 * members (the same deterministic membership start uses) and bytes. Predicted: minutes to notify each
 * phase under the rollout rate (minute by minute, the exponential increase counted on notifications;
 * a `succeeded` criterion is taken as every notified meter succeeding, the best case), plus each
 * phase's soak before the next, and the first maintenance window installs may use.
 */

export interface SimulationTarget {
  deviceId: string;
  /** The manifest the meter reported running at its last check-in; null if it never reported one. */
  installedManifestDigest: string | null;
  /** Runs every delta component's precursor (always true for a manifest without deltas). */
  onPrecursor: boolean;
  /** The gateway the projection holds for it (null: reaches the platform directly). */
  gatewayId?: string | null;
}

export interface SimulationInput {
  campaignId: string;
  targets: readonly SimulationTarget[];
  phases: readonly { name: string; size: PhaseSize; minSoakMinutes: number }[];
  /** Bytes one meter downloads: the manifest's component payloads. */
  bytesPerDevice: number;
  hasDelta: boolean;
  rollout: RolloutConfig;
  maintenanceWindows: readonly MaintenanceWindow[];
  startAt: Date;
}

export interface Simulation {
  targets: number;
  byInstalledManifest: { manifestDigest: string | null; devices: number }[];
  compatibility: { compatible: number; refusedWrongPrecursor: number };
  phases: { phase: number; name: string; devices: number; notifyMinutes: number; soakMinutes: number }[];
  /** Named phase members that are not targets (suspended, busy, another class): left out. */
  explicitNotTargeted: number;
  bytes: {
    perDevice: number;
    total: number;
    /** Members per gateway the projection holds (null: meters without one), most bytes first. */
    byGateway: { gatewayId: string | null; devices: number; bytes: number }[];
  };
  duration: {
    notifyMinutes: number;
    soakMinutes: number;
    totalMinutes: number;
    /** When installs may first run (downloads are not gated); null without windows. */
    firstInstallWindowAt: string | null;
  };
}

/** Never loop more minutes than this (a rate of 1/min over a million meters is ~2 years). */
const MAX_MINUTES = 2_000_000;

export function simulateCampaign(input: SimulationInput): Simulation {
  const compatible = input.hasDelta ? input.targets.filter((t) => t.onPrecursor) : input.targets;
  const installed = new Map<string | null, number>();
  for (const target of input.targets)
    installed.set(target.installedManifestDigest, (installed.get(target.installedManifestDigest) ?? 0) + 1);
  const plan = planMembership(
    input.campaignId,
    compatible.map((t) => ({ deviceId: t.deviceId, gatewayId: t.gatewayId ?? null, hardwareRevision: null })),
    input.phases.map((p) => p.size),
  );

  let notified = 0;
  let minutesSpent = 0;
  const phases = input.phases.map((phase, index) => {
    const devices = plan.phases[index]!.length;
    let left = devices;
    let minutes = 0;
    while (left > 0 && minutesSpent + minutes < MAX_MINUTES) {
      const rate = currentRate(input.rollout, { notified, succeeded: notified });
      const now = Math.min(rate, left);
      left -= now;
      notified += now;
      minutes += 1;
    }
    minutesSpent += minutes;
    const last = index === input.phases.length - 1;
    return {
      phase: index + 1,
      name: phase.name,
      devices,
      notifyMinutes: minutes,
      soakMinutes: last || devices === 0 ? 0 : phase.minSoakMinutes,
    };
  });
  const notifyMinutes = phases.reduce((n, p) => n + p.notifyMinutes, 0);
  const soakMinutes = phases.reduce((n, p) => n + p.soakMinutes, 0);
  const members = phases.reduce((n, p) => n + p.devices, 0);
  const gatewayOf = new Map(compatible.map((t) => [t.deviceId, t.gatewayId ?? null]));
  const perGateway = new Map<string | null, number>();
  for (const members of plan.phases)
    for (const deviceId of members) {
      const gateway = gatewayOf.get(deviceId) ?? null;
      perGateway.set(gateway, (perGateway.get(gateway) ?? 0) + 1);
    }
  const window =
    input.maintenanceWindows.length > 0 ? nextWindow(input.maintenanceWindows, input.startAt) : null;
  return {
    targets: input.targets.length,
    byInstalledManifest: [...installed]
      .map(([manifestDigest, devices]) => ({ manifestDigest, devices }))
      .sort(
        (a, b) => b.devices - a.devices || String(a.manifestDigest).localeCompare(String(b.manifestDigest)),
      ),
    compatibility: {
      compatible: compatible.length,
      refusedWrongPrecursor: input.targets.length - compatible.length,
    },
    phases,
    explicitNotTargeted: plan.explicitNotTargeted.length,
    bytes: {
      perDevice: input.bytesPerDevice,
      total: members * input.bytesPerDevice,
      byGateway: [...perGateway]
        .map(([gatewayId, devices]) => ({ gatewayId, devices, bytes: devices * input.bytesPerDevice }))
        .sort((a, b) => b.devices - a.devices || String(a.gatewayId).localeCompare(String(b.gatewayId))),
    },
    duration: {
      notifyMinutes,
      soakMinutes,
      totalMinutes: notifyMinutes + soakMinutes,
      firstInstallWindowAt: window ? window.startsAt.toISOString() : null,
    },
  };
}
