import {
  type AdmissionCandidate,
  type GatewayBytes,
  type RolloutConfig,
  admit,
  closedGateways,
} from './admission';
import { type MaintenanceWindow, nextWindow } from './maintenance-window';
import { type PhaseSize, planMembership } from './membership';

/**
 * What a campaign would do if started now (spec §6.1 "simulate"): pure, from the registry's answer.
 * Exact: target counts, their installed firmware, compatibility with a delta's precursor, the phases'
 * members (the same deterministic membership start uses) and bytes. Predicted: minutes to notify each
 * phase as admission would let them out (minute by minute, through the admission rule itself: the
 * rate with its exponential increase counted on notifications, a `succeeded` criterion taken as every
 * notified meter succeeding; each gateway's concurrency, a meter holding its slot for the minute it
 * is notified in; each gateway's bytes per sliding hour), plus each phase's soak before the next (the
 * clock runs on through it, so a gateway's hour does too), and the first maintenance window installs
 * may use. Members behind a gateway whose whole hourly budget is smaller than one download are never
 * admitted: counted in `neverAdmitted`, left out of the minutes.
 */

export interface SimulationTarget {
  deviceId: string;
  /** The manifest the meter reported running at its last check-in; null if it never reported one. */
  installedManifestDigest: string | null;
  /** Runs every delta component's precursor (always true for a manifest without deltas). */
  onPrecursor: boolean;
  /** The gateway the projection holds for it (null: reaches the platform directly). */
  gatewayId?: string | null;
  /** The hardware revision the meter reported (null: none yet): a membership stratum. */
  hardwareRevision?: string | null;
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
  /** Targets per hardware revision (null: never reported), and how many of them each phase takes. */
  byHardwareRevision: { hardwareRevision: string | null; devices: number; phaseDevices: number[] }[];
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
  /** Members admission would hold forever: one download exceeds their gateway's bytes per hour. */
  neverAdmitted: number;
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
    compatible.map((t) => ({
      deviceId: t.deviceId,
      gatewayId: t.gatewayId ?? null,
      hardwareRevision: t.hardwareRevision ?? null,
    })),
    input.phases.map((p) => p.size),
  );

  const gatewayOf = new Map(compatible.map((t) => [t.deviceId, t.gatewayId ?? null]));
  const budget = input.rollout.perGatewayBytesPerHour;
  const neverAdmittable = (deviceId: string) =>
    budget !== undefined && gatewayOf.get(deviceId) !== null && input.bytesPerDevice > budget;
  const admission = new MinuteAdmission(input.rollout, input.bytesPerDevice, input.startAt);
  let neverAdmitted = 0;
  const phases = input.phases.map((phase, index) => {
    const members = plan.phases[index]!;
    const admittable = members.filter((d) => !neverAdmittable(d));
    neverAdmitted += members.length - admittable.length;
    const minutes = admission.notifyAll(
      admittable.map((d) => ({ executionId: d, gatewayId: gatewayOf.get(d) ?? null })),
    );
    const devices = members.length;
    const last = index === input.phases.length - 1;
    const soakMinutes = last || devices === 0 ? 0 : phase.minSoakMinutes;
    admission.wait(soakMinutes);
    return { phase: index + 1, name: phase.name, devices, notifyMinutes: minutes, soakMinutes };
  });
  const notifyMinutes = phases.reduce((n, p) => n + p.notifyMinutes, 0);
  const soakMinutes = phases.reduce((n, p) => n + p.soakMinutes, 0);
  const members = phases.reduce((n, p) => n + p.devices, 0);
  const perGateway = new Map<string | null, number>();
  for (const members of plan.phases)
    for (const deviceId of members) {
      const gateway = gatewayOf.get(deviceId) ?? null;
      perGateway.set(gateway, (perGateway.get(gateway) ?? 0) + 1);
    }
  const revisions = new Map<string | null, { devices: number; phaseDevices: number[] }>();
  const revisionOf = new Map(input.targets.map((t) => [t.deviceId, t.hardwareRevision ?? null]));
  const revisionEntry = (revision: string | null) => {
    let entry = revisions.get(revision);
    if (!entry) revisions.set(revision, (entry = { devices: 0, phaseDevices: input.phases.map(() => 0) }));
    return entry;
  };
  for (const target of input.targets) revisionEntry(target.hardwareRevision ?? null).devices++;
  plan.phases.forEach((phaseMembers, index) => {
    for (const deviceId of phaseMembers)
      revisionEntry(revisionOf.get(deviceId) ?? null).phaseDevices[index]!++;
  });
  const window =
    input.maintenanceWindows.length > 0 ? nextWindow(input.maintenanceWindows, input.startAt) : null;
  return {
    targets: input.targets.length,
    byInstalledManifest: [...installed]
      .map(([manifestDigest, devices]) => ({ manifestDigest, devices }))
      .sort(
        (a, b) => b.devices - a.devices || String(a.manifestDigest).localeCompare(String(b.manifestDigest)),
      ),
    byHardwareRevision: [...revisions]
      .map(([hardwareRevision, entry]) => ({ hardwareRevision, ...entry }))
      .sort(
        (a, b) =>
          b.devices - a.devices || String(a.hardwareRevision).localeCompare(String(b.hardwareRevision)),
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
    neverAdmitted,
    duration: {
      notifyMinutes,
      soakMinutes,
      totalMinutes: notifyMinutes + soakMinutes,
      firstInstallWindowAt: window ? window.startsAt.toISOString() : null,
    },
  };
}

/**
 * The real admission rule (`admit`, `closedGateways`) stepped a minute at a time on a simulated clock:
 * the admissions of the last 60 s and each gateway's bytes of the last hour carry over from minute
 * to minute and phase to phase. Installs take no time, so no gateway has a meter in flight when a
 * minute begins. Members are queued per gateway in admission order, and each minute only the heads
 * a gateway could take are offered, so a full gateway's queue is never walked.
 */
class MinuteAdmission {
  private clockMinutes = 0;
  private notified = 0;
  private recent: number[] = [];
  private gatewayBytes = new Map<string, GatewayBytes[]>();

  constructor(
    private readonly config: RolloutConfig,
    private readonly bytesPerDevice: number,
    private readonly startAt: Date,
  ) {}

  wait(minutes: number): void {
    this.clockMinutes += minutes;
  }

  /** Minutes until every candidate is admitted (the clock moves on by as many). */
  notifyAll(candidates: readonly AdmissionCandidate[]): number {
    const order = new Map(candidates.map((c, i) => [c.executionId, i]));
    const queues = new Map<string | null, AdmissionCandidate[]>();
    for (const c of candidates) {
      const queue = queues.get(c.gatewayId) ?? [];
      queue.push({ ...c, bytes: this.bytesPerDevice });
      queues.set(c.gatewayId, queue);
    }
    const heads = new Map<string | null, number>([...queues.keys()].map((g) => [g, 0]));
    let left = candidates.length;
    let minutes = 0;
    while (left > 0 && this.clockMinutes < MAX_MINUTES) {
      const now = new Date(this.startAt.getTime() + this.clockMinutes * 60_000);
      const closed = new Set(
        closedGateways({
          now,
          config: this.config,
          inFlightByGateway: new Map(),
          gatewayBytes: this.gatewayBytes,
          bytesPerDevice: this.bytesPerDevice,
        }),
      );
      const offered: AdmissionCandidate[] = [];
      for (const [gateway, queue] of queues) {
        if (gateway !== null && closed.has(gateway)) continue;
        const head = heads.get(gateway)!;
        const take = gateway === null ? this.config.maxPerMinute : this.config.perGatewayConcurrency;
        offered.push(...queue.slice(head, head + take));
      }
      offered.sort((a, b) => order.get(a.executionId)! - order.get(b.executionId)!);
      const result = admit({
        now,
        config: this.config,
        counts: { notified: this.notified, succeeded: this.notified },
        recent: this.recent,
        inFlightByGateway: new Map(),
        candidates: offered,
        gatewayBytes: this.gatewayBytes,
      });
      this.recent = result.recent;
      this.gatewayBytes = result.gatewayBytes;
      // A gateway's admitted members are a prefix of what it offered: its queue head moves past them.
      const admitted = new Set(result.admitted);
      for (const c of offered)
        if (admitted.has(c.executionId)) heads.set(c.gatewayId, heads.get(c.gatewayId)! + 1);
      this.notified += admitted.size;
      left -= admitted.size;
      minutes += 1;
      this.clockMinutes += 1;
    }
    return minutes;
  }
}
