import type { Caller } from '@meterkeep/service-runtime';

/**
 * Answers about API keys, for a short while: callers resolved (a key revoked in enrollment keeps
 * working here for at most the TTL), or refusals (a flood of one bogus bearer asks enrollment once per
 * TTL). Keyed by a digest of the key, never the key; the oldest entry goes when it is full.
 */
export class CallerCache<T = Caller> {
  private readonly entries = new Map<string, { caller: T; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(id: string): T | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (Date.now() >= entry.expiresAt) {
      this.entries.delete(id);
      return undefined;
    }
    return entry.caller;
  }

  set(id: string, caller: T): void {
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
