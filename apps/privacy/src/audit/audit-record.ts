import { createHash, randomUUID } from 'node:crypto';
import type { AuditEvent } from '@meterkeep/contracts';

/** The previousDigest of a record that belongs to no chain. */
export const UNCHAINED_PREVIOUS_DIGEST = '0'.repeat(64);

/** What a use case says happened. */
export interface AuditEntry {
  action: string;
  actor: string;
  subject: string;
  outcome: AuditEvent['outcome'];
  detail?: Record<string, string | number | boolean>;
}

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

/**
 * An audit record outside the tenant's hash chain (for now: the chain lives in enrollment; see the
 * issue note). Sequence 0 and the all-zero previousDigest mark it unchained, since a chain starts at 1;
 * its digest still covers its own content, computed as the chained records' digest is.
 */
export function unchainedAuditRecord(tenantId: string, entry: AuditEntry, now: Date): AuditEvent {
  const unsigned: Omit<AuditEvent, 'digest'> = {
    eventId: randomUUID(),
    tenantId,
    occurredAt: now.toISOString(),
    sequence: 0,
    action: entry.action,
    actor: entry.actor,
    subject: entry.subject,
    outcome: entry.outcome,
    ...(entry.detail && { detail: entry.detail }),
    previousDigest: UNCHAINED_PREVIOUS_DIGEST,
  };
  return { ...unsigned, digest: createHash('sha256').update(canonicalJson(unsigned)).digest('hex') };
}
