import { createHash } from 'node:crypto';
import type { Retention } from './erasures.schemas';

/** Stored with the saga once SCOPED: what it erases and what it keeps. */
export interface ErasureScope {
  occupancies: {
    occupancyId: string;
    meterId: string;
    validFrom: string;
    validTo: string | null;
    readingsKeyId: string;
  }[];
  retained: {
    occupancyId: string;
    purpose: string;
    granularity: string;
    legalBasis: string;
    reference: string;
    keyId: string;
    retainUntil: string;
  }[];
}

/** As requested, before scoping: the occupancies the subject had then. */
export interface RequestedScope {
  occupancyIds: string[];
}

export interface DestroyedKey {
  keyId: string;
  /** readings: the occupancy's data key; release: a purpose key of values the gate released. */
  kind: 'readings' | 'retention' | 'release';
  occupancyId: string;
  meterId: string;
  destroyedAt: string;
  wrappedKeyCommitment: string;
  kekEpoch: number;
}

export type StoredRetention = Omit<Retention, 'retainUntil'> & { retainUntil: string };

/** One erasure per subject × occupancies × retentions: a repeat of the request finds the first. */
export function scopeDigest(occupancyIds: readonly string[], retentions: readonly StoredRetention[]): string {
  const canonical = JSON.stringify({
    occupancyIds: [...occupancyIds].sort(),
    retentions: [...retentions]
      .sort((a, b) => (a.purpose < b.purpose ? -1 : a.purpose > b.purpose ? 1 : 0))
      .map((r) => [r.purpose, r.granularity, r.legalBasis, r.reference, r.retainUntil]),
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/** The next wait before a missing confirmation is asked for again: doubling from `base`, at most 60 s. */
export function retryDelayMs(base: number, attempt: number): number {
  return Math.min(60_000, base * 2 ** Math.max(0, Math.min(attempt - 1, 16)));
}

/** Which required services have not confirmed (completed or not-applicable) yet. */
export function missingConfirmers(
  required: readonly string[],
  confirmations: readonly { service: string; outcome: string }[],
): string[] {
  const done = new Set(confirmations.filter((c) => c.outcome !== 'failed').map((c) => c.service));
  return required.filter((service) => !done.has(service));
}
