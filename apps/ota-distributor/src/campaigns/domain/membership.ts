import { createHash } from 'node:crypto';

/**
 * Campaign membership (spec §6.5): which phase each target device belongs to. Deterministic (a hash of
 * campaign and device orders devices, never arrival order or randomness) and stratified: every phase
 * takes its share of every gateway and, inside a gateway, of every hardware revision, so a canary is not
 * one concentrator's worth of meters (hawkBit #1086).
 *
 * Sizes: explicit device ids first (the canary, typically); then percent and count phases over the
 * other targets, cumulatively: `{percent: 10}` means "10% of them covered once this phase is in",
 * `{count: n}` adds n. The last non-explicit phase takes the rest, so every target lands in exactly one
 * phase.
 */

export type PhaseSize = { percent: number } | { count: number } | { deviceIds: readonly string[] };

export interface MembershipTarget {
  deviceId: string;
  gatewayId: string | null;
  hardwareRevision: string | null;
}

export interface MembershipPlan {
  /** Device ids per phase (index as in the request), in the order their phase admits them. */
  phases: string[][];
  /** Explicit ids that are not targets of this campaign (unknown, other class, other tenant). */
  explicitNotTargeted: string[];
}

/** A stable, uniformly spread rank for a device within a campaign. */
export function memberHash(campaignId: string, deviceId: string): string {
  return createHash('sha256').update(campaignId).update('\0').update(deviceId).digest('hex');
}

interface Ranked {
  deviceId: string;
  hash: string;
  /** Position within its stratum as a fraction in (0, 1): systematic sampling. */
  key: number;
}

const byKeyThenHash = (a: Ranked, b: Ranked) =>
  a.key - b.key || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0);

/** Gives each member of a group the key (rank + ½) / size, ranks taken from `ordered`. */
function systematic(ordered: Ranked[]): Ranked[] {
  return ordered.map((member, rank) => ({ ...member, key: (rank + 0.5) / ordered.length }));
}

/**
 * Appends in a loop: `push(...items)` passes every item as an argument and overflows the call stack
 * beyond ~125,000 of them (a campaign over more meters in one phase or stratum could not start).
 */
function append<T>(into: T[], items: readonly T[]): void {
  for (const item of items) into.push(item);
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/**
 * Orders targets so that every prefix holds each gateway's share (±½ device) and, within a gateway,
 * each hardware revision's share: devices are ranked by hash inside (gateway, revision), interleaved
 * across revisions by systematic position, then across gateways the same way.
 */
export function stratifiedOrder(campaignId: string, targets: readonly MembershipTarget[]): string[] {
  const gatewayKey = (t: MembershipTarget) => `g:${t.gatewayId ?? ''}`;
  const revisionKey = (t: MembershipTarget) => `r:${t.hardwareRevision ?? ''}`;
  const gatewayOrdered: Ranked[] = [];
  for (const members of groupBy(targets, gatewayKey).values()) {
    const interleaved: Ranked[] = [];
    for (const cell of groupBy(members, revisionKey).values()) {
      const byHash = cell
        .map((t) => ({ deviceId: t.deviceId, hash: memberHash(campaignId, t.deviceId), key: 0 }))
        .sort(byKeyThenHash);
      append(interleaved, systematic(byHash));
    }
    append(gatewayOrdered, systematic(interleaved.sort(byKeyThenHash)));
  }
  return gatewayOrdered.sort(byKeyThenHash).map((r) => r.deviceId);
}

/** Cumulative number of the non-explicit targets covered after each sized phase (null: explicit). */
function boundaries(sizes: readonly PhaseSize[], total: number): (number | null)[] {
  const lastSized = sizes.findLastIndex((s) => !('deviceIds' in s));
  let covered = 0;
  return sizes.map((size, index) => {
    if ('deviceIds' in size) return null;
    if (index === lastSized) covered = total;
    else if ('count' in size) covered = Math.min(total, covered + size.count);
    else {
      // Percent in hundredths, integer arithmetic: 0.5% of 1,000,000 is exactly 5,000.
      const hundredths = Math.round(size.percent * 100);
      covered = Math.min(total, Math.max(covered, Math.ceil((total * hundredths) / 10_000)));
    }
    return covered;
  });
}

export function planMembership(
  campaignId: string,
  targets: readonly MembershipTarget[],
  sizes: readonly PhaseSize[],
): MembershipPlan {
  const targetIds = new Set(targets.map((t) => t.deviceId));
  const explicitPhase = new Map<string, number>();
  const explicitNotTargeted: string[] = [];
  sizes.forEach((size, index) => {
    if (!('deviceIds' in size)) return;
    for (const id of size.deviceIds) {
      if (!targetIds.has(id)) explicitNotTargeted.push(id);
      else if (!explicitPhase.has(id)) explicitPhase.set(id, index);
    }
  });
  const phases: string[][] = sizes.map(() => []);
  for (const [id, index] of explicitPhase) phases[index]!.push(id);

  const rest = stratifiedOrder(
    campaignId,
    targets.filter((t) => !explicitPhase.has(t.deviceId)),
  );
  const cuts = boundaries(sizes, rest.length);
  if (rest.length > 0 && cuts.every((c) => c === null))
    // Only explicit phases: targets nobody named join the last phase rather than being dropped.
    append(phases[sizes.length - 1]!, rest);
  let from = 0;
  cuts.forEach((to, index) => {
    if (to === null) return;
    append(phases[index]!, rest.slice(from, to));
    from = to;
  });
  return { phases, explicitNotTargeted };
}
