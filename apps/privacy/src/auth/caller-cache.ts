import type { Caller } from '@meterkeep/service-runtime';

/**
 * Callers resolved from API keys, for a short while: a key revoked in enrollment keeps working here for
 * at most the TTL. Keyed by a digest of the key, never the key. Holds only positive answers; the oldest
 * entry goes when it is full.
 */
export class CallerCache {
  private readonly entries = new Map<string, { caller: Caller; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(id: string): Caller | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (Date.now() >= entry.expiresAt) {
      this.entries.delete(id);
      return undefined;
    }
    return entry.caller;
  }

  set(id: string, caller: Caller): void {
    this.entries.delete(id);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(id, { caller, expiresAt: Date.now() + this.ttlMs });
  }

  get size(): number {
    return this.entries.size;
  }
}
