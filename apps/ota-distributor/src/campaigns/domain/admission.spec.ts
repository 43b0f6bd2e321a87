import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ADMISSION_WINDOW_MS,
  type RolloutConfig,
  admit,
  closedGateways,
  currentRate,
  gatewayLimit,
} from './admission';

const t0 = new Date('2026-12-01T00:00:00Z').getTime();
const candidates = (n: number, gateway: (i: number) => string | null = () => null) =>
  Array.from({ length: n }, (_, i) => ({ executionId: `exe-${i}`, gatewayId: gateway(i) }));

describe('admission (spec §6.5)', () => {
  const config: RolloutConfig = { maxPerMinute: 100, perGatewayConcurrency: 1000 };

  it('admits at most maxPerMinute in a 60 s window, then more as the window slides', () => {
    const first = admit({
      now: new Date(t0),
      config,
      counts: { notified: 0, succeeded: 0 },
      recent: [],
      inFlightByGateway: new Map(),
      candidates: candidates(250),
    });
    expect(first.admitted).toHaveLength(100);
    const later = {
      config,
      counts: { notified: 100, succeeded: 0 },
      inFlightByGateway: new Map(),
      candidates: candidates(150),
    };
    expect(admit({ ...later, now: new Date(t0 + 59_999), recent: first.recent }).admitted).toHaveLength(0);
    expect(admit({ ...later, now: new Date(t0 + 60_000), recent: first.recent }).admitted).toHaveLength(100);
  });

  it('holds a gateway at its concurrency and admits other gateways past it', () => {
    const result = admit({
      now: new Date(t0),
      config: { maxPerMinute: 1000, perGatewayConcurrency: 3 },
      counts: { notified: 0, succeeded: 0 },
      recent: [],
      inFlightByGateway: new Map([['GW-A', 2]]),
      candidates: candidates(10, (i) => (i < 8 ? 'GW-A' : 'GW-B')),
    });
    expect(result.admitted).toEqual(['exe-0', 'exe-8', 'exe-9']);
    expect(result.heldByGateway).toBe(7);
  });

  it("holds a gateway's meters once its hourly byte budget is spent, and frees it an hour later", () => {
    const config: RolloutConfig = {
      maxPerMinute: 1000,
      perGatewayConcurrency: 100,
      perGatewayBytesPerHour: 1_000,
    };
    const base = { config, counts: { notified: 0, succeeded: 0 }, recent: [], inFlightByGateway: new Map() };
    const first = admit({
      ...base,
      now: new Date(t0),
      candidates: candidates(5, (i) => (i < 4 ? 'GW-A' : 'GW-B')).map((c) => ({ ...c, bytes: 400 })),
    });
    expect(first.admitted).toEqual(['exe-0', 'exe-1', 'exe-4']);
    expect(first.heldByBytes).toBe(2);
    const later = (ms: number) =>
      admit({
        ...base,
        now: new Date(t0 + ms),
        gatewayBytes: first.gatewayBytes,
        candidates: [{ executionId: 'x', gatewayId: 'GW-A', bytes: 400 }],
      });
    expect(later(3_599_999).admitted).toEqual([]);
    expect(later(3_600_000).admitted).toEqual(['x']);
  });

  it("gatewayLimit narrows a campaign's own limits by those of the other campaigns sharing the gateway", () => {
    const own: RolloutConfig = { maxPerMinute: 10, perGatewayConcurrency: 5, perGatewayBytesPerHour: 900 };
    const shared = new Map([
      ['gw-strict', { concurrency: 2, bytesPerHour: 300 }],
      ['gw-loose', { concurrency: 50 }],
    ]);
    expect(gatewayLimit(own, shared, 'gw-strict')).toEqual({ concurrency: 2, bytesPerHour: 300 });
    expect(gatewayLimit(own, shared, 'gw-loose')).toEqual({ concurrency: 5, bytesPerHour: 900 });
    expect(gatewayLimit(own, shared, 'gw-alone')).toEqual({ concurrency: 5, bytesPerHour: 900 });
    // A budget another campaign sets binds one that set none.
    expect(gatewayLimit({ maxPerMinute: 10, perGatewayConcurrency: 5 }, shared, 'gw-strict')).toEqual({
      concurrency: 2,
      bytesPerHour: 300,
    });
  });

  it("admit and closedGateways hold a gateway at the strictest sharing campaign's limits", () => {
    const own: RolloutConfig = { maxPerMinute: 100, perGatewayConcurrency: 5 };
    const gatewayLimits = new Map([['gw-1', { concurrency: 2, bytesPerHour: 250 }]]);
    const input = {
      now: new Date(t0),
      config: own,
      gatewayLimits,
      counts: { notified: 0, succeeded: 0 },
      recent: [],
      candidates: candidates(6, () => 'gw-1').map((c) => ({ ...c, bytes: 100 })),
    };
    // One in flight already (another campaign's): one more fits the concurrency of 2.
    expect(admit({ ...input, inFlightByGateway: new Map([['gw-1', 1]]) }).admitted).toHaveLength(1);
    // 100 bytes spent this hour: a 250-byte budget takes one more download, not two.
    const spent = new Map([['gw-1', [{ at: t0 - 1_000, bytes: 100 }]]]);
    const result = admit({ ...input, inFlightByGateway: new Map(), gatewayBytes: spent });
    expect(result.admitted).toHaveLength(1);
    expect(result.heldByBytes).toBe(5);
    const load = { now: new Date(t0), config: own, gatewayLimits, bytesPerDevice: 100 };
    expect(closedGateways({ ...load, inFlightByGateway: new Map([['gw-1', 2]]) })).toEqual(['gw-1']);
    expect(closedGateways({ ...load, inFlightByGateway: new Map([['gw-1', 1]]) })).toEqual([]);
    expect(
      closedGateways({
        ...load,
        inFlightByGateway: new Map(),
        gatewayBytes: new Map([['gw-1', [{ at: t0 - 1_000, bytes: 200 }]]]),
      }),
    ).toEqual(['gw-1']);
  });

  it('raises the rate exponentially as AWS does, up to the maximum', () => {
    const exp: RolloutConfig = {
      maxPerMinute: 1000,
      perGatewayConcurrency: 10,
      exponential: { base: 10, factor: 2, increaseAfter: { notified: 50 } },
    };
    expect(currentRate(exp, { notified: 0, succeeded: 0 })).toBe(10);
    expect(currentRate(exp, { notified: 49, succeeded: 0 })).toBe(10);
    expect(currentRate(exp, { notified: 50, succeeded: 0 })).toBe(20);
    expect(currentRate(exp, { notified: 150, succeeded: 0 })).toBe(80);
    expect(currentRate(exp, { notified: 1_000_000, succeeded: 0 })).toBe(1000);
    const bySuccess = { ...exp, exponential: { base: 10, factor: 1.5, increaseAfter: { succeeded: 10 } } };
    expect(currentRate(bySuccess, { notified: 500, succeeded: 25 })).toBe(22);
  });

  it('property: admissions in any 60 s window never exceed the rate, nor a gateway its concurrency or hourly bytes', () => {
    const step = fc.record({
      advanceMs: fc.integer({ min: 0, max: 900_000 }),
      arriving: fc.integer({ min: 0, max: 60 }),
      finishing: fc.integer({ min: 0, max: 20 }),
      succeeding: fc.integer({ min: 0, max: 20 }),
    });
    const arbConfig = fc.record({
      maxPerMinute: fc.integer({ min: 1, max: 120 }),
      perGatewayConcurrency: fc.integer({ min: 1, max: 8 }),
      perGatewayBytesPerHour: fc.option(fc.integer({ min: 1, max: 5_000 }), { nil: undefined }),
      exponential: fc.option(
        fc.record({
          base: fc.integer({ min: 1, max: 20 }),
          factor: fc.integer({ min: 11, max: 50 }).map((f) => f / 10),
          increaseAfter: fc.oneof(
            fc.record({ notified: fc.integer({ min: 1, max: 30 }) }),
            fc.record({ succeeded: fc.integer({ min: 1, max: 30 }) }),
          ),
        }),
        { nil: undefined },
      ),
    });
    fc.assert(
      fc.property(arbConfig, fc.array(step, { maxLength: 60 }), (config, steps) => {
        let now = t0;
        let recent: number[] = [];
        let gatewayBytes = new Map<string, { at: number; bytes: number }[]>();
        const sent: { at: number; gateway: string; bytes: number }[] = [];
        let queued: { executionId: string; gatewayId: string | null; bytes: number }[] = [];
        const inFlight: { id: string; gateway: string | null }[] = [];
        const log: { at: number; rate: number }[] = [];
        const counts = { notified: 0, succeeded: 0 };
        let next = 0;
        for (const s of steps) {
          now += s.advanceMs;
          for (let i = 0; i < s.arriving; i++, next++)
            queued.push({
              executionId: `e${next}`,
              gatewayId: next % 5 === 0 ? null : `GW-${next % 3}`,
              bytes: (next * 7919) % 1_500,
            });
          inFlight.splice(0, s.finishing);
          counts.succeeded = Math.min(counts.notified, counts.succeeded + s.succeeding);
          const byGateway = new Map<string, number>();
          for (const e of inFlight)
            if (e.gateway) byGateway.set(e.gateway, (byGateway.get(e.gateway) ?? 0) + 1);
          const result = admit({
            now: new Date(now),
            config,
            counts: { ...counts },
            recent,
            inFlightByGateway: byGateway,
            candidates: queued,
            gatewayBytes,
          });
          recent = result.recent;
          gatewayBytes = result.gatewayBytes;
          const admitted = new Set(result.admitted);
          for (const c of queued.filter((q) => admitted.has(q.executionId))) {
            inFlight.push({ id: c.executionId, gateway: c.gatewayId });
            log.push({ at: now, rate: result.rate });
            if (c.gatewayId) sent.push({ at: now, gateway: c.gatewayId, bytes: c.bytes });
          }
          queued = queued.filter((q) => !admitted.has(q.executionId));
          counts.notified += admitted.size;
          const perGateway = new Map<string, number>();
          for (const e of inFlight)
            if (e.gateway) perGateway.set(e.gateway, (perGateway.get(e.gateway) ?? 0) + 1);
          for (const n of perGateway.values()) expect(n).toBeLessThanOrEqual(config.perGatewayConcurrency);
        }
        // Every hour [t, t + 1 h) starting at an admission holds each gateway to its byte budget.
        if (config.perGatewayBytesPerHour !== undefined)
          for (const start of sent) {
            const inHour = sent.filter(
              (e) => e.gateway === start.gateway && e.at >= start.at && e.at < start.at + 3_600_000,
            );
            expect(inHour.reduce((sum, e) => sum + e.bytes, 0)).toBeLessThanOrEqual(
              config.perGatewayBytesPerHour,
            );
          }
        // Every window [t, t + 60 s) starting at an admission, against the rate when it closed.
        for (let i = 0; i < log.length; i++) {
          let j = i;
          while (j + 1 < log.length && log[j + 1]!.at < log[i]!.at + ADMISSION_WINDOW_MS) j++;
          expect(j - i + 1).toBeLessThanOrEqual(log[j]!.rate);
        }
      }),
    );
  });

  it('closedGateways names the gateways at their concurrency or without bytes for one more download', () => {
    const config = { maxPerMinute: 100, perGatewayConcurrency: 2, perGatewayBytesPerHour: 1_000 };
    expect(
      closedGateways({
        now: new Date(t0),
        config,
        inFlightByGateway: new Map([
          ['GW-full', 2],
          ['GW-open', 1],
        ]),
        gatewayBytes: new Map([
          ['GW-spent', [{ at: t0 - 60_000, bytes: 700 }]],
          ['GW-old', [{ at: t0 - 3_600_000, bytes: 1_000 }]],
        ]),
        bytesPerDevice: 400,
      }),
    ).toEqual(['GW-full', 'GW-spent']);
    // Without a byte budget only concurrency closes a gateway.
    expect(
      closedGateways({
        now: new Date(t0),
        config: { maxPerMinute: 100, perGatewayConcurrency: 2 },
        inFlightByGateway: new Map([['GW-open', 1]]),
        gatewayBytes: new Map([['GW-spent', [{ at: t0, bytes: 10_000 }]]]),
        bytesPerDevice: 400,
      }),
    ).toEqual([]);
  });

  it("property: leaving closed gateways' members unread never changes what admit admits", () => {
    fc.assert(
      fc.property(
        fc.record({
          maxPerMinute: fc.integer({ min: 1, max: 50 }),
          perGatewayConcurrency: fc.integer({ min: 1, max: 6 }),
          perGatewayBytesPerHour: fc.option(fc.integer({ min: 1, max: 5_000 }), { nil: undefined }),
        }),
        fc.integer({ min: 0, max: 2_000 }),
        fc.dictionary(fc.constantFrom('GW-0', 'GW-1', 'GW-2', 'GW-3'), fc.integer({ min: 0, max: 8 })),
        fc.dictionary(
          fc.constantFrom('GW-0', 'GW-1', 'GW-2', 'GW-3'),
          fc.array(
            fc.record({
              at: fc.integer({ min: t0 - 4_000_000, max: t0 }),
              bytes: fc.integer({ min: 0, max: 2_000 }),
            }),
            { maxLength: 6 },
          ),
        ),
        fc.array(fc.constantFrom<string | null>(null, 'GW-0', 'GW-1', 'GW-2', 'GW-3'), { maxLength: 80 }),
        fc.array(fc.integer({ min: t0 - 59_999, max: t0 }), { maxLength: 60 }),
        (config, bytesPerDevice, busy, spent, gateways, recent) => {
          const inFlightByGateway = new Map(Object.entries(busy));
          const gatewayBytes = new Map(Object.entries(spent));
          const candidates = gateways.map((gatewayId, i) => ({
            executionId: `e${i}`,
            gatewayId,
            bytes: bytesPerDevice,
          }));
          const input = {
            now: new Date(t0),
            config,
            counts: { notified: 0, succeeded: 0 },
            recent,
            inFlightByGateway,
            gatewayBytes,
          };
          const closed = new Set(closedGateways({ ...input, bytesPerDevice }));
          const all = admit({ ...input, candidates });
          const open = admit({
            ...input,
            candidates: candidates.filter((c) => c.gatewayId === null || !closed.has(c.gatewayId)),
          });
          expect(open.admitted).toEqual(all.admitted);
          for (const id of all.admitted) {
            const gateway = candidates.find((c) => c.executionId === id)!.gatewayId;
            expect(gateway === null || !closed.has(gateway)).toBe(true);
          }
        },
      ),
    );
  });
});
