import { describe, expect, it } from 'vitest';
import type { ExecutionRow } from '../core/database';
import { CheckInViewCache, parseCheckInChange } from './check-in-view-cache';
import type { CheckInView } from './executions.repository';

const view = (campaignId: string | null = null, version = 1): CheckInView => ({
  deviceState: 'ACTIVE',
  reportedManifestDigest: null,
  hardwareRevision: null,
  lastCheckInAt: null,
  execution: { execution_id: 'e', campaign_id: campaignId, version, state: 'QUEUED' } as ExecutionRow,
  campaign: null,
});

/** A load the test finishes when it likes. */
function deferred() {
  let resolve!: (v: CheckInView) => void;
  const promise = new Promise<CheckInView>((r) => (resolve = r));
  return { promise, resolve };
}

describe('CheckInViewCache', () => {
  it('loads every time while not trusted, then keeps and answers from memory', async () => {
    const cache = new CheckInViewCache(10);
    let loads = 0;
    const load = () => Promise.resolve((loads++, view()));
    await cache.get('t', 'd', load);
    await cache.get('t', 'd', load);
    expect(loads).toBe(2);
    cache.setTrusted(true);
    await cache.get('t', 'd', load);
    await cache.get('t', 'd', load);
    expect(loads).toBe(3);
    expect(cache.stats).toEqual({ hits: 1, misses: 1, bypassed: 2 });
  });

  it("drops a device's view on its change, and does not keep a load a change overtook", async () => {
    const cache = new CheckInViewCache(10);
    cache.setTrusted(true);
    await cache.get('t', 'd', () => Promise.resolve(view(null, 1)));
    cache.apply({ kind: 'device', tenantId: 't', deviceId: 'd' });
    expect(cache.size).toBe(0);

    // Read before the commit, heard after it: answered once, never kept.
    const slow = deferred();
    const answer = cache.get('t', 'd', () => slow.promise);
    cache.apply(parseCheckInChange('{"t": "t", "d": "d"}'));
    slow.resolve(view(null, 1));
    expect((await answer).execution?.version).toBe(1);
    expect(cache.size).toBe(0);
    // Another device's change does not spoil this one's load.
    const other = deferred();
    const kept = cache.get('t', 'd', () => other.promise);
    cache.apply({ kind: 'device', tenantId: 't', deviceId: 'x' });
    other.resolve(view(null, 2));
    await kept;
    expect(cache.size).toBe(1);
  });

  it('empties on a loss of trust and on regaining it; a load across either is not kept', async () => {
    const cache = new CheckInViewCache(10);
    cache.setTrusted(true);
    await cache.get('t', 'a', () => Promise.resolve(view()));
    const slow = deferred();
    const answer = cache.get('t', 'b', () => slow.promise);
    cache.setTrusted(false);
    expect(cache.size).toBe(0);
    cache.setTrusted(true);
    slow.resolve(view());
    await answer;
    expect(cache.size).toBe(0);
  });

  it("a campaign's change drops its executions' views only; '*' and garbage drop all", async () => {
    const cache = new CheckInViewCache(10);
    cache.setTrusted(true);
    await cache.get('t', 'a', () => Promise.resolve(view('c1')));
    await cache.get('t', 'b', () => Promise.resolve(view('c2')));
    await cache.get('t', 'c', () => Promise.resolve(view(null)));
    cache.apply(parseCheckInChange('{"c": "c1"}'));
    expect(cache.size).toBe(2);
    cache.apply(parseCheckInChange('not json'));
    expect(cache.size).toBe(0);
    expect(parseCheckInChange('*')).toEqual({ kind: 'all' });
    expect(parseCheckInChange('{"t": 1, "d": "x"}')).toEqual({ kind: 'all' });
  });

  it('holds at most its size, the least recently used going first; size 0 keeps nothing', async () => {
    const cache = new CheckInViewCache(2);
    cache.setTrusted(true);
    let loads = 0;
    const load = () => Promise.resolve((loads++, view()));
    await cache.get('t', 'a', load);
    await cache.get('t', 'b', load);
    await cache.get('t', 'a', load); // a is now the most recent
    await cache.get('t', 'c', load); // b goes
    expect(cache.size).toBe(2);
    loads = 0;
    await cache.get('t', 'a', load);
    await cache.get('t', 'c', load);
    expect(loads).toBe(0);
    await cache.get('t', 'b', load);
    expect(loads).toBe(1);

    const off = new CheckInViewCache(0);
    off.setTrusted(true);
    await off.get('t', 'a', load);
    expect(off.size).toBe(0);
  });
});
