import type { Kysely } from 'kysely';
import {
  AUDIT_VERIFY_MAX_RECORDS,
  type AuditBreakReason,
  type AuditChainVerification,
  type AuditEvent,
  auditEvent,
} from '@meterkeep/contracts';
import { EMPTY_CHAIN, auditDigest } from './audit-chain';
import type { AuditChainDb } from './audit-chain-heads-table';
import type { AuditChainRepository, StoredAuditRecord } from './audit-chain.repository';

/** Records read a query: memory stays bounded whatever the chain's length. */
export const AUDIT_VERIFY_PAGE = 500;

export interface AuditVerifyRange {
  from?: number;
  to?: number;
}

interface ChainBreak {
  sequence: number;
  reason: AuditBreakReason;
  message: string;
}

/** A stored record read back: the first rule it breaks on its own, or the record. */
export function readStoredRecord(tenantId: string, stored: StoredAuditRecord): ChainBreak | AuditEvent {
  const { sequence } = stored;
  const parsed = auditEvent.safeParse(stored.record);
  if (!parsed.success)
    return { sequence, reason: 'malformed-record', message: `record ${sequence} is not an audit record` };
  const record = parsed.data;
  if (record.tenantId !== tenantId || record.sequence !== sequence)
    return {
      sequence,
      reason: 'misplaced-record',
      message: `the row of sequence ${sequence} holds record ${record.sequence} of another place or chain`,
    };
  // Over the record as stored, not as parsed: a member added to it changes the digest too.
  if (auditDigest(stored.record as AuditEvent) !== record.digest)
    return {
      sequence,
      reason: 'digest-mismatch',
      message: `record ${sequence} no longer hashes to its digest`,
    };
  return record;
}

const isBreak = (value: ChainBreak | AuditEvent): value is ChainBreak => 'reason' in value;

/**
 * Recomputes a tenant's stored chain, in pages of its own rows only (the primary key starts with the
 * tenant): each record must validate, sit in its own row, hash to its digest and name the digest of
 * the one before; the last must be the stored head. Stops at the first break.
 */
export class AuditChainVerifier<DB extends AuditChainDb = AuditChainDb> {
  constructor(
    private readonly chains: AuditChainRepository,
    private readonly db: Kysely<DB>,
    private readonly pageSize = AUDIT_VERIFY_PAGE,
    private readonly maxRecords = AUDIT_VERIFY_MAX_RECORDS,
  ) {}

  async verify(tenantId: string, range: AuditVerifyRange = {}): Promise<AuditChainVerification> {
    const { db } = this;
    // The head is read first: records appended meanwhile lie beyond it and are left for the next call.
    const { head, anchor } = (await this.chains.chain(db, tenantId)) ?? {
      head: EMPTY_CHAIN,
      anchor: EMPTY_CHAIN,
    };
    const from = Math.max(range.from ?? anchor.sequence + 1, anchor.sequence + 1);
    const last = Math.min(range.to ?? head.sequence, head.sequence, from - 1 + this.maxRecords);
    const answer = (verified: number, to: number, firstBreak?: ChainBreak): AuditChainVerification => ({
      tenantId,
      intact: firstBreak === undefined,
      from,
      to,
      verified,
      head,
      anchor,
      ...(firstBreak && { firstBreak }),
      ...(!firstBreak && to < Math.min(range.to ?? head.sequence, head.sequence) && { nextFrom: to + 1 }),
    });

    if (last < from) return answer(0, from - 1);
    // The record before `from` is where the links start: the anchor, or that stored record as it is.
    let expected = anchor;
    if (from > anchor.sequence + 1) {
      const [stored] = await this.chains.records(db, tenantId, from - 2, from - 1, 1);
      const before = stored ? readStoredRecord(tenantId, stored) : missing(from - 1);
      if (isBreak(before)) return answer(0, from - 1, before);
      expected = { sequence: before.sequence, digest: before.digest };
    }

    let verified = 0;
    while (expected.sequence < last) {
      const page = await this.chains.records(db, tenantId, expected.sequence, last, this.pageSize);
      if (page.length === 0) return answer(verified, expected.sequence, missing(expected.sequence + 1));
      for (const stored of page) {
        if (stored.sequence !== expected.sequence + 1)
          return answer(verified, expected.sequence, missing(expected.sequence + 1));
        const record = readStoredRecord(tenantId, stored);
        if (isBreak(record)) return answer(verified, expected.sequence, record);
        if (record.previousDigest !== expected.digest)
          return answer(verified, expected.sequence, {
            sequence: record.sequence,
            reason: 'link-mismatch',
            message: `record ${record.sequence} does not name the digest of record ${expected.sequence}`,
          });
        expected = { sequence: record.sequence, digest: record.digest };
        verified += 1;
      }
    }
    if (last === head.sequence && expected.digest !== head.digest)
      return answer(verified, last, {
        sequence: head.sequence,
        reason: 'head-mismatch',
        message: `record ${head.sequence} is not the stored chain head`,
      });
    return answer(verified, last);
  }
}

const missing = (sequence: number): ChainBreak => ({
  sequence,
  reason: 'missing-record',
  message: `record ${sequence} is not stored`,
});
