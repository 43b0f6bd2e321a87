import { describe, expect, it } from 'vitest';
import {
  type ConsentChangeRequest,
  type ConsentPolicy,
  type DecidedEntry,
  GB_PRESET,
  type LedgerEntry,
  type OccupancyTerms,
  checkPolicy,
  decideConsentChange,
  overridePolicy,
  permissionEndedAt,
  permissionTimeline,
  permittedGranularity,
} from './index';

const day = (n: number) => new Date(Date.UTC(2026, 0, n));
const occupancy = (over: Partial<OccupancyTerms> = {}): OccupancyTerms => ({
  occupancyId: 'occ-a',
  from: day(1),
  to: null,
  consumerClass: 'domestic',
  contractDate: null,
  ...over,
});

/** Plays requests through the rules, as the use case does, and returns the ledger they build. */
function ledger(
  occ: OccupancyTerms,
  steps: [at: Date, request: ConsentChangeRequest][],
  policy: ConsentPolicy = GB_PRESET,
): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  for (const [at, request] of steps) {
    const decision = decideConsentChange(policy, occ, entries, request, at);
    if (!decision.ok) throw new Error(`${decision.refusal.code}: ${decision.refusal.message}`);
    entries.push(toEntry(occ, decision.entry));
  }
  return entries;
}
const toEntry = (occ: OccupancyTerms, entry: DecidedEntry): LedgerEntry => ({
  ...entry,
  occupancyId: occ.occupancyId,
});
const refusal = (occ: OccupancyTerms, history: LedgerEntry[], request: ConsentChangeRequest, at = day(2)) => {
  const decision = decideConsentChange(GB_PRESET, occ, history, request, at);
  return decision.ok ? 'accepted' : decision.refusal.code;
};
const grant = (
  purpose: string,
  granularity: 'monthly' | 'daily' | 'half-hourly',
  basis: 'consent' | 'opt-out-default' | 'legal-obligation' | 'legitimate-interest' | 'contract',
  extra: Partial<Extract<ConsentChangeRequest, { action: 'grant' }>> = {},
  recipient = 'supplier',
): ConsentChangeRequest => ({ action: 'grant', purpose, recipient, granularity, basis, ...extra });
const withdraw = (purpose: string, recipient = 'supplier'): ConsentChangeRequest => ({
  action: 'withdraw',
  purpose,
  recipient,
});
const optOut = (purpose: string): ConsentChangeRequest => ({
  action: 'opt-out',
  purpose,
  recipient: 'supplier',
});

describe('GB preset (spec §3)', () => {
  it('is a valid policy document', () => {
    expect(checkPolicy(GB_PRESET)).toEqual([]);
  });

  it('billing: monthly without any consent; cannot go below monthly; no opt-out', () => {
    const occ = occupancy();
    expect(permittedGranularity([], occ, 'supplier', 'billing', day(5))).toBe('monthly');
    const entries = ledger(occ, [[day(3), withdraw('billing')]]);
    expect(permittedGranularity(entries, occ, 'supplier', 'billing', day(5))).toBe('monthly');
    expect(refusal(occ, [], optOut('billing'))).toBe('OPT_OUT_NOT_AVAILABLE');
  });

  it('supplier insights: daily only 7 days after notice, with an opt-out back to monthly', () => {
    const occ = occupancy();
    const entries = ledger(occ, [
      [day(2), grant('supplier-insights', 'daily', 'opt-out-default', { noticeSentAt: day(2) })],
    ]);
    expect(entries[0]).toMatchObject({ status: 'defaulted', effectiveFrom: day(9) });
    expect(permittedGranularity(entries, occ, 'supplier', 'supplier-insights', day(8))).toBe('monthly');
    expect(permittedGranularity(entries, occ, 'supplier', 'supplier-insights', day(9))).toBe('daily');
    const optedOut = [
      ...entries,
      ...ledger(occ, [[day(12), optOut('supplier-insights')]]).map((e) => ({ ...e, version: 2 })),
    ];
    expect(permittedGranularity(optedOut, occ, 'supplier', 'supplier-insights', day(11))).toBe('daily');
    expect(permittedGranularity(optedOut, occ, 'supplier', 'supplier-insights', day(12))).toBe('monthly');
    // A new notice cannot undo the customer's opt-out.
    expect(
      refusal(
        occ,
        optedOut,
        grant('supplier-insights', 'daily', 'opt-out-default', { noticeSentAt: day(13) }),
        day(13),
      ),
    ).toBe('OPTED_OUT');
  });

  it('supplier insights: the default needs a notice and reaches daily at most', () => {
    const occ = occupancy();
    expect(refusal(occ, [], grant('supplier-insights', 'daily', 'opt-out-default'))).toBe('NOTICE_REQUIRED');
    expect(
      refusal(
        occ,
        [],
        grant('supplier-insights', 'half-hourly', 'opt-out-default', { noticeSentAt: day(1) }),
      ),
    ).toBe('GRANULARITY_NOT_PERMITTED');
  });

  it('half-hourly only by explicit opt-in, withdrawable at any time (effective at once)', () => {
    const occ = occupancy();
    expect(permittedGranularity([], occ, 'supplier', 'supplier-insights', day(5))).toBe('monthly');
    const withdrawnAt = new Date(day(20).getTime() + 12_345);
    const entries = ledger(occ, [
      [day(2), grant('supplier-insights', 'daily', 'opt-out-default', { noticeSentAt: day(2) })],
      [day(3), grant('supplier-insights', 'half-hourly', 'consent')],
      [withdrawnAt, withdraw('supplier-insights')],
    ]);
    expect(permittedGranularity(entries, occ, 'supplier', 'supplier-insights', day(4))).toBe('half-hourly');
    expect(
      permittedGranularity(
        entries,
        occ,
        'supplier',
        'supplier-insights',
        new Date(withdrawnAt.getTime() - 1),
      ),
    ).toBe('half-hourly');
    // The withdrawal ends the consent, not the daily default.
    expect(permittedGranularity(entries, occ, 'supplier', 'supplier-insights', withdrawnAt)).toBe('daily');
  });

  it('settlement: half-hourly under legal obligation for contracts since 2019, opt-out to daily', () => {
    const occ = occupancy({ contractDate: new Date('2024-03-01T00:00:00Z') });
    expect(permittedGranularity([], occ, 'supplier', 'settlement', day(5))).toBe('half-hourly');
    const entries = ledger(occ, [[day(4), optOut('settlement')]]);
    expect(entries[0]).toMatchObject({
      status: 'opted-out',
      granularity: 'daily',
      basis: 'legal-obligation',
    });
    expect(permittedGranularity(entries, occ, 'supplier', 'settlement', day(3))).toBe('half-hourly');
    expect(permittedGranularity(entries, occ, 'supplier', 'settlement', day(4))).toBe('daily');
    // Forecasting follows what settlement collects, opt-out included.
    expect(permittedGranularity([], occ, 'supplier', 'forecasting', day(5))).toBe('half-hourly');
    expect(permittedGranularity(entries, occ, 'supplier', 'forecasting', day(5))).toBe('daily');
    expect(refusal(occ, [], optOut('forecasting'))).toBe('PURPOSE_UNKNOWN');
  });

  it('settlement: microbusinesses are half-hourly with no opt-out', () => {
    const occ = occupancy({ consumerClass: 'microbusiness', contractDate: new Date('2015-01-01T00:00:00Z') });
    expect(permittedGranularity([], occ, 'supplier', 'settlement', day(5))).toBe('half-hourly');
    expect(refusal(occ, [], optOut('settlement'))).toBe('OPT_OUT_NOT_AVAILABLE');
  });

  it('settlement: domestic contracts from before the decision stay opt-in for half-hourly', () => {
    const occ = occupancy({ contractDate: new Date('2018-05-01T00:00:00Z') });
    expect(permittedGranularity([], occ, 'supplier', 'settlement', day(5))).toBe('monthly');
    expect(refusal(occ, [], grant('settlement', 'half-hourly', 'legal-obligation'))).toBe(
      'BASIS_NOT_ALLOWED',
    );
    expect(refusal(occ, [], optOut('settlement'))).toBe('OPT_OUT_NOT_AVAILABLE');
    const entries = ledger(occ, [[day(3), grant('settlement', 'half-hourly', 'consent')]]);
    expect(permittedGranularity(entries, occ, 'supplier', 'settlement', day(5))).toBe('half-hourly');
  });

  it('marketing: nothing without explicit opt-in; no default basis for it', () => {
    const occ = occupancy();
    expect(permittedGranularity([], occ, 'supplier', 'marketing', day(5))).toBe('none');
    expect(refusal(occ, [], grant('marketing', 'daily', 'opt-out-default', { noticeSentAt: day(1) }))).toBe(
      'BASIS_NOT_ALLOWED',
    );
    expect(refusal(occ, [], grant('marketing', 'monthly', 'legitimate-interest'))).toBe('BASIS_NOT_ALLOWED');
    const entries = ledger(occ, [
      [day(3), grant('marketing', 'daily', 'consent')],
      [day(6), withdraw('marketing')],
    ]);
    expect(permittedGranularity(entries, occ, 'supplier', 'marketing', day(4))).toBe('daily');
    expect(permittedGranularity(entries, occ, 'supplier', 'marketing', day(6))).toBe('none');
  });

  it('third parties: explicit consent with a historical and a prospective period, revocable', () => {
    const occ = occupancy();
    const tp = 'third-party:energy-coach';
    const request = (extra: Partial<Extract<ConsentChangeRequest, { action: 'grant' }>>) =>
      grant('third-party', 'half-hourly', 'consent', extra, tp);
    expect(refusal(occ, [], request({}), day(10))).toBe('PERIOD_REQUIRED');
    expect(
      refusal(
        occ,
        [],
        request({ effectiveTo: day(40), historicalFrom: new Date('2025-12-01T00:00:00Z') }),
        day(10),
      ),
    ).toBe('INVALID_PERIOD');
    const entries = ledger(occ, [
      [day(10), request({ effectiveTo: day(40), historicalFrom: day(5) })],
      [day(30), withdraw('third-party', tp)],
    ]);
    expect(permittedGranularity(entries, occ, tp, 'third-party', day(4))).toBe('none');
    expect(permittedGranularity(entries, occ, tp, 'third-party', day(5))).toBe('half-hourly');
    expect(permittedGranularity(entries, occ, tp, 'third-party', day(29))).toBe('half-hourly');
    expect(permittedGranularity(entries, occ, tp, 'third-party', day(30))).toBe('none');
    // Without the withdrawal the grant still stops at its prospective end.
    expect(permittedGranularity(entries.slice(0, 1), occ, tp, 'third-party', day(40))).toBe('none');
    // Another third party, or the supplier, gets nothing from it.
    expect(permittedGranularity(entries, occ, 'third-party:other', 'third-party', day(20))).toBe('none');
    expect(refusal(occ, [], grant('third-party', 'daily', 'consent', { effectiveTo: day(40) }))).toBe(
      'RECIPIENT_NOT_ALLOWED',
    );
    expect(refusal(occ, [], grant('marketing', 'daily', 'consent', {}, tp))).toBe('RECIPIENT_NOT_ALLOWED');
  });

  it('network operators: monthly at most without consent; nothing by default', () => {
    const occ = occupancy();
    expect(permittedGranularity([], occ, 'dno', 'network-operator', day(5))).toBe('none');
    expect(refusal(occ, [], grant('network-operator', 'daily', 'legitimate-interest', {}, 'dno'))).toBe(
      'GRANULARITY_NOT_PERMITTED',
    );
    const entries = ledger(occ, [
      [day(2), grant('network-operator', 'monthly', 'legitimate-interest', {}, 'dno')],
    ]);
    expect(permittedGranularity(entries, occ, 'dno', 'network-operator', day(5))).toBe('monthly');
  });

  it('consent.no-carry-over-across-occupancy: a new occupancy starts from the preset defaults', () => {
    const first = occupancy({ to: day(15) });
    const next = occupancy({ occupancyId: 'occ-b', from: day(15) });
    const entries = ledger(first, [
      [day(2), grant('supplier-insights', 'half-hourly', 'consent')],
      [day(3), grant('marketing', 'half-hourly', 'consent')],
    ]);
    expect(permittedGranularity(entries, first, 'supplier', 'supplier-insights', day(14))).toBe(
      'half-hourly',
    );
    expect(permittedGranularity(entries, next, 'supplier', 'supplier-insights', day(16))).toBe('monthly');
    expect(permittedGranularity(entries, next, 'supplier', 'marketing', day(16))).toBe('none');
    // Nor does the first occupancy's consent reach past its end.
    expect(permittedGranularity(entries, first, 'supplier', 'supplier-insights', day(15))).toBe('none');
  });

  it('refuses grants in the past, after the occupancy, or on an ended occupancy', () => {
    const closed = occupancy({ to: day(10) });
    expect(refusal(closed, [], grant('marketing', 'daily', 'consent'), day(11))).toBe('OCCUPANCY_CLOSED');
    expect(
      refusal(closed, [], grant('marketing', 'daily', 'consent', { effectiveFrom: day(12) }), day(5)),
    ).toBe('INVALID_PERIOD');
    expect(
      refusal(occupancy(), [], grant('marketing', 'daily', 'consent', { effectiveFrom: day(1) }), day(5)),
    ).toBe('INVALID_PERIOD');
    // Withdrawing stays possible after the household left.
    expect(refusal(closed, [], withdraw('marketing'), day(11))).toBe('accepted');
  });

  it('the timeline agrees with the point answers and merges equal neighbours', () => {
    const occ = occupancy({ to: day(60) });
    const entries = ledger(occ, [
      [day(2), grant('supplier-insights', 'daily', 'opt-out-default', { noticeSentAt: day(2) })],
      [day(20), grant('supplier-insights', 'half-hourly', 'consent', { effectiveTo: day(30) })],
      [day(40), optOut('supplier-insights')],
    ]);
    expect(permissionTimeline(entries, occ, 'supplier', 'supplier-insights')).toEqual([
      { from: day(1), to: day(9), granularity: 'monthly' },
      { from: day(9), to: day(20), granularity: 'daily' },
      { from: day(20), to: day(30), granularity: 'half-hourly' },
      { from: day(30), to: day(40), granularity: 'daily' },
      { from: day(40), to: day(60), granularity: 'monthly' },
    ]);
  });
});

describe('permissionEndedAt: when a withdrawal shreds the purpose key', () => {
  const occ = occupancy();
  it('a third party whose consent is withdrawn may receive nothing more; before that it may', () => {
    const recipient = 'third-party:coach';
    const granted = ledger(occ, [
      [
        day(2),
        grant('third-party', 'daily', 'consent', { historicalFrom: day(1), effectiveTo: day(60) }, recipient),
      ],
    ]);
    expect(permissionEndedAt(granted, occ, recipient, 'third-party', day(3))).toBe(false);
    const withdrawn = ledger(occ, [
      [
        day(2),
        grant('third-party', 'daily', 'consent', { historicalFrom: day(1), effectiveTo: day(60) }, recipient),
      ],
      [day(5), withdraw('third-party', recipient)],
    ]);
    expect(permissionEndedAt(withdrawn, occ, recipient, 'third-party', day(5))).toBe(true);
    // The grant's own end is an end too.
    expect(permissionEndedAt(granted, occ, recipient, 'third-party', day(60))).toBe(true);
  });

  it('marketing withdrawn ends it; half-hourly insights withdrawn fall back to the daily default: kept', () => {
    const steps: [Date, ConsentChangeRequest][] = [
      [day(2), grant('marketing', 'daily', 'consent')],
      [day(2), grant('supplier-insights', 'daily', 'opt-out-default', { noticeSentAt: day(1) })],
      [day(10), grant('supplier-insights', 'half-hourly', 'consent')],
      [day(12), withdraw('marketing')],
      [day(12), withdraw('supplier-insights')],
    ];
    const entries = ledger(occ, steps);
    expect(permissionEndedAt(entries, occ, 'supplier', 'marketing', day(12))).toBe(true);
    expect(permittedGranularity(entries, occ, 'supplier', 'supplier-insights', day(12))).toBe('daily');
    expect(permissionEndedAt(entries, occ, 'supplier', 'supplier-insights', day(12))).toBe(false);
    // Billing has a floor: never ended while the occupancy runs.
    expect(permissionEndedAt(entries, occ, 'supplier', 'billing', day(12))).toBe(false);
  });
});

describe('tenant overrides', () => {
  it('versions a policy a tenant changes, leaving the preset as it was', () => {
    const tenant = overridePolicy(GB_PRESET, {
      id: 'utility-north',
      version: 3,
      purposes: {
        'supplier-insights': { bases: { 'opt-out-default': { max: 'daily', noticeDays: 14 } } },
        marketing: null,
      },
    });
    expect(tenant).toMatchObject({
      id: 'utility-north',
      version: 3,
      basedOn: 'gb@1',
      timeZone: 'Europe/London',
    });
    const occ = occupancy();
    const steps: [Date, ConsentChangeRequest][] = [
      [day(2), grant('supplier-insights', 'daily', 'opt-out-default', { noticeSentAt: day(2) })],
    ];
    expect(ledger(occ, steps, tenant)[0]!.effectiveFrom).toEqual(day(16));
    expect(ledger(occ, steps)[0]!.effectiveFrom).toEqual(day(9));
    expect(
      decideConsentChange(tenant, occ, [], grant('marketing', 'daily', 'consent'), day(2)),
    ).toMatchObject({
      ok: false,
      refusal: { code: 'PURPOSE_UNKNOWN' },
    });
    expect(GB_PRESET.purposes.marketing).toBeDefined();
  });

  it('refuses an override that would make a policy incoherent', () => {
    expect(() =>
      overridePolicy(GB_PRESET, {
        id: 't',
        version: 1,
        purposes: { 'supplier-insights': { floor: 'half-hourly' } },
      }),
    ).toThrow(/less than the floor/);
    expect(() =>
      overridePolicy(GB_PRESET, { id: 't', version: 1, purposes: { forecasting: { follows: 'nothing' } } }),
    ).toThrow(/unknown purpose/);
    expect(() =>
      overridePolicy(GB_PRESET, { id: 't', version: 1, purposes: { brand: { floor: 'none' } } }),
    ).toThrow(/new purpose/);
  });
});
