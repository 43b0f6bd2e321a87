import { createHash, randomUUID } from 'node:crypto';
import type { AuditEvent } from '@meterkeep/contracts';

/** The previousDigest of a tenant's first audit record. */
export const GENESIS_DIGEST = '0'.repeat(64);

/** What a use case says happened; the chain adds id, time, sequence and digests. */
export interface AuditEntry {
  action: string;
  actor: string;
  subject: string;
  outcome: AuditEvent['outcome'];
  detail?: Record<string, string | number | boolean>;
}

export interface ChainHead {
  /** The sequence of the last record; 0 for an empty chain. */
  sequence: number;
  digest: string;
}

export const EMPTY_CHAIN: ChainHead = { sequence: 0, digest: GENESIS_DIGEST };

/** JSON with object keys sorted at every level and undefined members left out: one text per value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 over the canonical JSON of the record without its own digest. */
export function auditDigest(event: Omit<AuditEvent, 'digest'> & { digest?: string }): string {
  const { digest: _digest, ...rest } = event;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** Appends entries to a tenant's chain: each record names the digest of the one before. */
export function chainAuditEvents(
  tenantId: string,
  head: ChainHead,
  entries: readonly AuditEntry[],
  now: Date,
): { events: AuditEvent[]; head: ChainHead } {
  const occurredAt = now.toISOString();
  let current = head;
  const events = entries.map((entry) => {
    const unsigned: Omit<AuditEvent, 'digest'> = {
      eventId: randomUUID(),
      tenantId,
      occurredAt,
      sequence: current.sequence + 1,
      action: entry.action,
      actor: entry.actor,
      subject: entry.subject,
      outcome: entry.outcome,
      ...(entry.detail && { detail: entry.detail }),
      previousDigest: current.digest,
    };
    const event: AuditEvent = { ...unsigned, digest: auditDigest(unsigned) };
    current = { sequence: event.sequence, digest: event.digest };
    return event;
  });
  return { events, head: current };
}

/**
 * Checks a run of one tenant's records, in sequence order: each digest recomputes and each record
 * names the previous one. Returns the index of the first broken record, or -1.
 */
export function firstBrokenLink(events: readonly AuditEvent[], previous?: ChainHead): number {
  let expected = previous;
  for (const [index, event] of events.entries()) {
    if (auditDigest(event) !== event.digest) return index;
    if (expected && (event.previousDigest !== expected.digest || event.sequence !== expected.sequence + 1))
      return index;
    expected = { sequence: event.sequence, digest: event.digest };
  }
  return -1;
}
