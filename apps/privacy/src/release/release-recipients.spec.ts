import { describe, expect, it } from 'vitest';
import { GB_PRESET, type LedgerEntry } from '../consents/policy';
import { releaseEventId, releaseRecipients } from './release-windows.use-case';

const entry = (recipient: string, purpose: string): LedgerEntry => ({
  occupancyId: 'occ-1',
  purpose,
  recipient,
  granularity: 'daily',
  basis: 'consent',
  status: 'granted',
  effectiveFrom: new Date('2026-01-01T00:00:00Z'),
  effectiveTo: new Date('2027-01-01T00:00:00Z'),
  historicalFrom: null,
  version: 1,
});

describe('releaseRecipients', () => {
  it("the supplier for each of the preset's supplier purposes, each third party the ledger names; never the DNO", () => {
    const pairs = releaseRecipients(GB_PRESET, [
      entry('third-party:coach', 'third-party'),
      entry('third-party:coach', 'third-party'),
      entry('dno', 'network-operator'),
    ]);
    expect(pairs).toEqual([
      { recipient: 'supplier', purpose: 'billing' },
      { recipient: 'supplier', purpose: 'supplier-insights' },
      { recipient: 'supplier', purpose: 'marketing' },
      { recipient: 'supplier', purpose: 'settlement' },
      { recipient: 'supplier', purpose: 'forecasting' },
      { recipient: 'third-party:coach', purpose: 'third-party' },
    ]);
  });

  it('gives one stable event id per window, different across recipients, purposes and levels', () => {
    const id = releaseEventId('occ-1', 'supplier', 'billing', 'monthly', 0);
    expect(releaseEventId('occ-1', 'supplier', 'billing', 'monthly', 0)).toBe(id);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (const other of [
      releaseEventId('occ-1', 'third-party:x', 'billing', 'monthly', 0),
      releaseEventId('occ-1', 'supplier', 'settlement', 'monthly', 0),
      releaseEventId('occ-1', 'supplier', 'billing', 'daily', 0),
      releaseEventId('occ-2', 'supplier', 'billing', 'monthly', 0),
    ])
      expect(other).not.toBe(id);
  });
});
