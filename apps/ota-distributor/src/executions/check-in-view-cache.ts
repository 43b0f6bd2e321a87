import type { CheckInView } from './executions.repository';

/** What a committed change made stale (migration 0008's payloads). */
export type CheckInChange =
  | { kind: 'device'; tenantId: string; deviceId: string }
  | { kind: 'campaign'; campaignId: string }
  | { kind: 'all' };

/** A notification's payload; anything unexpected is taken as "all" (never trusted as narrower). */
export function parseCheckInChange(payload: string): CheckInChange {
  if (payload === '*') return { kind: 'all' };
  try {
    const parsed = JSON.parse(payload) as { t?: unknown; d?: unknown; c?: unknown };
    if (typeof parsed.t === 'string' && typeof parsed.d === 'string')
      return { kind: 'device', tenantId: parsed.t, deviceId: parsed.d };
    if (typeof parsed.c === 'string') return { kind: 'campaign', campaignId: parsed.c };
  } catch {
    // not JSON: below
  }
  return { kind: 'all' };
}

const keyOf = (tenantId: string, deviceId: string) => JSON.stringify([tenantId, deviceId]);

/**
 * Meters' check-in views in memory, at most `maxEntries` (least recently used first out), used only
 * while `trusted` (its invalidations are being heard). A view loaded while a change to it is heard,
 * or across a loss of trust, is answered but not kept: the load may have read before the commit.
 * Views are shared: callers never change them. Time-dependent decisions are the caller's, per request.
 */
export class CheckInViewCache {
  private readonly entries = new Map<string, CheckInView>();
  /** Loads under way per key; a change to the key marks them stale. */
  private readonly loading = new Map<string, Set<{ stale: boolean }>>();
  /** Bumped by every change wider than one key: loads begun before it are not kept. */
  private epoch = 0;
  private trusted = false;
  readonly stats = { hits: 0, misses: 0, bypassed: 0 };

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Whether anything could be stale here: a fence is worth waiting for. */
  get busy(): boolean {
    return this.entries.size > 0 || this.loading.size > 0;
  }

  /** While false, every view is loaded and nothing kept; either way, what is held is dropped. */
  setTrusted(trusted: boolean): void {
    this.trusted = trusted;
    this.clear();
  }

  async get(tenantId: string, deviceId: string, load: () => Promise<CheckInView>): Promise<CheckInView> {
    if (this.maxEntries === 0 || !this.trusted) {
      this.stats.bypassed++;
      return load();
    }
    const key = keyOf(tenantId, deviceId);
    const hit = this.entries.get(key);
    if (hit) {
      this.stats.hits++;
      // Most recently used last.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    this.stats.misses++;
    const pending = { stale: false };
    const epoch = this.epoch;
    let loads = this.loading.get(key);
    if (!loads) this.loading.set(key, (loads = new Set()));
    loads.add(pending);
    try {
      const view = await load();
      if (!pending.stale && epoch === this.epoch && this.trusted) this.keep(key, view);
      return view;
    } finally {
      loads.delete(pending);
      if (loads.size === 0 && this.loading.get(key) === loads) this.loading.delete(key);
    }
  }

  apply(change: CheckInChange): void {
    switch (change.kind) {
      case 'device': {
        const key = keyOf(change.tenantId, change.deviceId);
        this.entries.delete(key);
        for (const pending of this.loading.get(key) ?? []) pending.stale = true;
        return;
      }
      case 'campaign':
        // Rare (a campaign's state or cancel mode): a scan, and loads under way not kept.
        for (const [key, view] of this.entries)
          if (view.execution?.campaign_id === change.campaignId) this.entries.delete(key);
        this.epoch++;
        return;
      case 'all':
        this.clear();
        return;
    }
  }

  clear(): void {
    this.entries.clear();
    this.epoch++;
  }

  private keep(key: string, view: CheckInView): void {
    this.entries.set(key, view);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }
}
