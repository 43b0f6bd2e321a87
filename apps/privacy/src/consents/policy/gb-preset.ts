import type { ConsentPolicy } from './consent-policy';

/**
 * Ofgem's June 2019 decision on half-hourly settlement [P5]: contracts made from then on carry the
 * legal-obligation basis. The exact day is a reading of the decision, not a quoted rule: a tenant whose
 * legal advice differs overrides it.
 */
export const SETTLEMENT_DECISION = '2019-06-01';

/**
 * The GB preset (spec §3): the Data Access and Privacy Framework, supplier licence condition 47 and the
 * 2019 settlement decision as data. Engineering, not legal advice: tenants override it.
 */
export const GB_PRESET: ConsentPolicy = deepFreeze({
  id: 'gb',
  version: 1,
  timeZone: 'Europe/London',
  purposes: {
    // Monthly (or coarser) for billing and regulated duties needs no consent [P1][P4]; anything shorter
    // than a day needs explicit consent (SLC 47) [P3].
    billing: { recipients: ['supplier'], floor: 'monthly', bases: { consent: { max: 'half-hourly' } } },
    // Daily for any non-marketing use after seven days' notice, with an opt-out back to monthly [P1][P4];
    // half-hourly only by explicit opt-in, withdrawable at any time [P3].
    'supplier-insights': {
      recipients: ['supplier'],
      floor: 'monthly',
      bases: {
        'opt-out-default': { max: 'daily', noticeDays: 7 },
        consent: { max: 'half-hourly' },
      },
      optOut: { to: 'monthly', basis: 'opt-out-default' },
    },
    // Marketing only by explicit opt-in [P1].
    marketing: { recipients: ['supplier'], floor: 'none', bases: { consent: { max: 'half-hourly' } } },
    // Half-hourly under a legal obligation: microbusinesses without an opt-out; domestic customers on
    // contracts made since the decision with an opt-out to daily [P5][P6]; earlier domestic contracts
    // stay opt-in until they change contract [P5]. Monthly register reads are always available.
    settlement: {
      recipients: ['supplier'],
      floor: 'monthly',
      defaults: [
        { granularity: 'half-hourly', basis: 'legal-obligation', consumerClasses: ['microbusiness'] },
        {
          granularity: 'half-hourly',
          basis: 'legal-obligation',
          consumerClasses: ['domestic'],
          contractsFrom: SETTLEMENT_DECISION,
        },
      ],
      bases: {
        'legal-obligation': {
          max: 'half-hourly',
          for: [
            { consumerClasses: ['microbusiness'] },
            { consumerClasses: ['domestic'], contractsFrom: SETTLEMENT_DECISION },
          ],
        },
        consent: { max: 'half-hourly' },
      },
      optOut: {
        to: 'daily',
        basis: 'legal-obligation',
        consumerClasses: ['domestic'],
        contractsFrom: SETTLEMENT_DECISION,
      },
    },
    // Suppliers may forecast with what settlement collects, and a settlement opt-out binds it too [P5][P6].
    forecasting: { recipients: ['supplier'], floor: 'none', bases: {}, follows: 'settlement' },
    // Network operators: nothing finer than monthly without an approved privacy plan's anonymisation,
    // which the release gate's aggregation enforces [P9].
    'network-operator': {
      recipients: ['dno'],
      floor: 'none',
      bases: { 'legitimate-interest': { max: 'monthly' }, consent: { max: 'half-hourly' } },
    },
    // Third parties: explicit consent with a purpose, a historical and a prospective period, revocable
    // [P10][P16].
    'third-party': {
      recipients: ['third-party'],
      floor: 'none',
      bases: { consent: { max: 'half-hourly' } },
      requiresPeriod: true,
    },
  },
});

/** Presets are shared by every tenant: an override copies, it never edits. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
