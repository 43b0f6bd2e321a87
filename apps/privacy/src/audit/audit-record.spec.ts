import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AUDIT_EVENTS, validateEvent } from '@meterkeep/contracts';
import { canonicalJson, unchainedAuditRecord } from './audit-record';

describe('unchained audit records', () => {
  const record = unchainedAuditRecord(
    'utility-north',
    {
      action: 'privacy.occupancy-opened',
      actor: 'key_abcdefghijkl',
      subject: 'occ-1',
      outcome: 'allowed',
      detail: { meterId: 'MTR-1' },
    },
    new Date('2026-11-26T08:00:00.000Z'),
  );

  it('satisfy the audit contract and are marked as outside any chain', () => {
    expect(validateEvent(AUDIT_EVENTS, record)).toEqual(record);
    expect(record).toMatchObject({ sequence: 0, previousDigest: '0'.repeat(64) });
  });

  it('carry the digest of their own content', () => {
    const { digest, ...rest } = record;
    expect(digest).toBe(createHash('sha256').update(canonicalJson(rest)).digest('hex'));
  });
});
