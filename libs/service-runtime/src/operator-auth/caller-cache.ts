import type { Caller } from '../auth/caller';

/**
 * Answers about API keys, for a short while: callers resolved (a key revoked in enrollment is dropped
 * when its revocation event arrives, at the latest after the TTL), or refusals (a flood of one bogus
 * bearer asks enrollment once per TTL). Keyed by a digest of the key, never the key; the oldest entry
 * goes when it is full. With `indexOf`, entries can also be dropped by that index (the key id).
 */
export class CallerCache<T = Caller> {
  private readonly entries = new Map<string, { caller: T; expiresAt: number }>();
  /** index → the ids cached under it. */
  private readonly index = new Map<string, Set<string>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly indexOf?: (caller: T) => string,
  ) {}

  get(id: string): T | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (Date.now() >= entry.expiresAt) {
      this.delete(id);
      return undefined;
    }
    return entry.caller;
  }

  set(id: string, caller: T): void {
    this.delete(id);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    this.entries.set(id, { caller, expiresAt: Date.now() + this.ttlMs });
    if (!this.indexOf) return;
    const key = this.indexOf(caller);
    const ids = this.index.get(key) ?? new Set<string>();
    this.index.set(key, ids.add(id));
  }

  /** Drops every entry under this index (every cached key with this key id). */
  deleteByIndex(key: string): void {
    for (const id of this.index.get(key) ?? []) this.entries.delete(id);
    this.index.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private delete(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    if (!this.indexOf) return;
    const key = this.indexOf(entry.caller);
    const ids = this.index.get(key);
    ids?.delete(id);
    if (ids?.size === 0) this.index.delete(key);
  }
}
