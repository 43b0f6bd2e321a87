import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type MembershipTarget, planMembership, stratifiedOrder } from './membership';

function fleet(gateways: number, revisions: number, perCell: number): MembershipTarget[] {
  const targets: MembershipTarget[] = [];
  for (let g = 0; g < gateways; g++)
    for (let r = 0; r < revisions; r++)
      for (let i = 0; i < perCell; i++)
        targets.push({ deviceId: `MTR-${g}-${r}-${i}`, gatewayId: `GW-${g}`, hardwareRevision: `rev-${r}` });
  return targets;
}

const countBy = (ids: readonly string[], of: (id: string) => string) => {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(of(id), (counts.get(of(id)) ?? 0) + 1);
  return counts;
};

describe('campaign membership (spec §6.5)', () => {
  it('plans 200,000 targets of one stratum into one phase (more than one call can take as arguments)', () => {
    const targets = Array.from({ length: 200_000 }, (_, i) => ({
      deviceId: `MTR-${i}`,
      gatewayId: null,
      hardwareRevision: null,
    }));
    const plan = planMembership('camp-big', targets, [{ count: 10 }, { percent: 100 }]);
    expect(plan.phases.map((p) => p.length)).toEqual([10, 199_990]);
  });

  it('takes every phase share from every gateway and hardware revision', () => {
    const targets = fleet(4, 2, 50); // 400 devices
    const plan = planMembership('camp-1', targets, [{ percent: 10 }, { percent: 50 }, { percent: 100 }]);
    expect(plan.phases.map((p) => p.length)).toEqual([40, 160, 200]);
    const cell = (id: string) => id.split('-').slice(1, 3).join('-');
    expect([...countBy(plan.phases[0]!, cell).values()]).toEqual(Array(8).fill(5));
    expect([...countBy(plan.phases[1]!, cell).values()]).toEqual(Array(8).fill(20));
  });

  it('puts explicit ids in their phase first, reports ids that are not targets, and sizes the rest', () => {
    const targets = fleet(2, 1, 100);
    const plan = planMembership('camp-1', targets, [
      { deviceIds: ['MTR-0-0-7', 'MTR-1-0-3', 'NOT-A-TARGET'] },
      { count: 10 },
      { percent: 100 },
    ]);
    expect(plan.phases[0]).toEqual(['MTR-0-0-7', 'MTR-1-0-3']);
    expect(plan.explicitNotTargeted).toEqual(['NOT-A-TARGET']);
    expect(plan.phases[1]).toHaveLength(10);
    expect(plan.phases[2]).toHaveLength(188);
    expect([...countBy(plan.phases[1]!, (id) => id.split('-')[1]!).values()]).toEqual([5, 5]);
  });

  it('reads percent cumulatively, rounds up so a small phase is never empty, and the last phase takes the rest', () => {
    const plan = planMembership('c', fleet(1, 1, 50), [{ percent: 1 }, { percent: 10 }, { percent: 60 }]);
    expect(plan.phases.map((p) => p.length)).toEqual([1, 4, 45]);
    const exact = planMembership('c', fleet(1, 1, 1000), [
      { percent: 0.5 },
      { percent: 1.25 },
      { percent: 100 },
    ]);
    expect(exact.phases.map((p) => p.length)).toEqual([5, 8, 987]);
  });

  it('orders by a hash of (campaign, device): another campaign draws another canary', () => {
    const targets = fleet(1, 1, 200);
    const a = planMembership('camp-a', targets, [{ count: 5 }, { percent: 100 }]).phases[0];
    const b = planMembership('camp-b', targets, [{ count: 5 }, { percent: 100 }]).phases[0];
    expect(a).not.toEqual(b);
    expect(
      planMembership('camp-a', [...targets].reverse(), [{ count: 5 }, { percent: 100 }]).phases[0],
    ).toEqual(a);
  });

  const arbTargets = fc.uniqueArray(
    fc.record({
      deviceId: fc.stringMatching(/^[A-Z0-9-]{1,12}$/),
      gatewayId: fc.option(fc.constantFrom('GW-A', 'GW-B', 'GW-C', 'GW-D'), { nil: null }),
      hardwareRevision: fc.option(fc.constantFrom('r1', 'r2', 'r3'), { nil: null }),
    }),
    { selector: (t) => t.deviceId, maxLength: 300 },
  );
  const arbSizes = fc.array(
    fc.oneof(
      fc.record({ percent: fc.integer({ min: 1, max: 10_000 }).map((h) => h / 100) }),
      fc.record({ count: fc.integer({ min: 0, max: 100 }) }),
    ),
    { minLength: 1, maxLength: 5 },
  );

  it('property: deterministic whatever the input order, and a partition of the targets', () => {
    fc.assert(
      fc.property(fc.string(), arbTargets, arbSizes, fc.integer(), (campaignId, targets, sizes, seed) => {
        const shuffled = fc.sample(fc.shuffledSubarray(targets, { minLength: targets.length }), {
          seed,
          numRuns: 1,
        })[0]!;
        const plan = planMembership(campaignId, targets, sizes);
        expect(planMembership(campaignId, shuffled, sizes)).toEqual(plan);
        const all = plan.phases.flat();
        expect(all.length).toBe(targets.length);
        expect(new Set(all)).toEqual(new Set(targets.map((t) => t.deviceId)));
      }),
    );
  });

  it('property: every phase takes its share of every gateway, and in a gateway of every revision', () => {
    // Shares of two strata differ by at most one device of each: |a/nA − b/nB| ≤ 1/nA + 1/nB.
    const proportional = (phase: readonly string[], strata: Map<string, string[]>) => {
      const inPhase = new Set(phase);
      const shares = [...strata.values()].map((members) => ({
        n: members.length,
        share: members.filter((id) => inPhase.has(id)).length / members.length,
      }));
      for (const a of shares)
        for (const b of shares)
          expect(Math.abs(a.share - b.share)).toBeLessThanOrEqual(1 / a.n + 1 / b.n + 1e-9);
    };
    fc.assert(
      fc.property(fc.string(), arbTargets, arbSizes, (campaignId, targets, sizes) => {
        const plan = planMembership(campaignId, targets, sizes);
        const gatewayOf = new Map(targets.map((t) => [t.deviceId, t]));
        const byGateway = new Map<string, string[]>();
        for (const t of targets)
          byGateway.set(String(t.gatewayId), [...(byGateway.get(String(t.gatewayId)) ?? []), t.deviceId]);
        for (const phase of plan.phases) {
          proportional(phase, byGateway);
          for (const members of byGateway.values()) {
            const byRevision = new Map<string, string[]>();
            for (const id of members) {
              const revision = String(gatewayOf.get(id)!.hardwareRevision);
              byRevision.set(revision, [...(byRevision.get(revision) ?? []), id]);
            }
            const phaseInGateway = phase.filter((id) => members.includes(id));
            proportional(phaseInGateway, byRevision);
          }
        }
      }),
    );
  });

  it('property: every prefix of the stratified order holds each gateway to within half a device', () => {
    fc.assert(
      fc.property(fc.string(), arbTargets, (campaignId, targets) => {
        const order = stratifiedOrder(campaignId, targets);
        const gatewayOf = new Map(targets.map((t) => [t.deviceId, String(t.gatewayId)]));
        const sizes = countBy(order, (id) => gatewayOf.get(id)!);
        const seen = new Map<string, number>();
        order.forEach((id) => {
          seen.set(gatewayOf.get(id)!, (seen.get(gatewayOf.get(id)!) ?? 0) + 1);
          const fractions = [...sizes].map(([g, n]) => ({ n, f: (seen.get(g) ?? 0) / n }));
          for (const a of fractions)
            for (const b of fractions)
              expect(Math.abs(a.f - b.f)).toBeLessThanOrEqual(0.5 / a.n + 0.5 / b.n + 1e-9);
        });
      }),
      { numRuns: 50 },
    );
  });
});
