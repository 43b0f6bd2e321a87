/**
 * Consent rules as data: a policy names, per purpose, which recipients may get data, the granularity
 * permitted with no consent at all, the defaults a new occupancy starts from, the finest granularity
 * each legal basis may permit and where an opt-out lands. Plain TypeScript, no I/O: the same rules serve
 * the REST use cases, the state published to Kafka and the tests.
 */

/** Coarsest first: the order decides which of two permissions is finer. */
export const GRANULARITIES = ['none', 'monthly', 'daily', 'half-hourly'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export const CONSENT_BASES = [
  'legal-obligation',
  'contract',
  'consent',
  'opt-out-default',
  'legitimate-interest',
] as const;
export type ConsentBasis = (typeof CONSENT_BASES)[number];

/**
 * `granted` and `defaulted` (an opt-out default after its notice) raise a permission; `withdrawn`
 * (consent) and `opted-out` (an objection to a default or legal-obligation basis) only lower one.
 */
export const CONSENT_STATUSES = ['granted', 'defaulted', 'withdrawn', 'opted-out'] as const;
export type ConsentStatus = (typeof CONSENT_STATUSES)[number];

export const CONSUMER_CLASSES = ['domestic', 'microbusiness'] as const;
export type ConsumerClass = (typeof CONSUMER_CLASSES)[number];

export const RECIPIENT_KINDS = ['supplier', 'dno', 'third-party'] as const;
export type RecipientKind = (typeof RECIPIENT_KINDS)[number];

/** `supplier`, `dno` or `third-party:<id>`. */
export const RECIPIENT = /^(supplier|dno|third-party:[a-z0-9][a-z0-9-]{0,62})$/;
export const PURPOSE = /^[a-z][a-z0-9-]{0,47}$/;

export function recipientKind(recipient: string): RecipientKind | undefined {
  if (!RECIPIENT.test(recipient)) return undefined;
  return recipient.startsWith('third-party:') ? 'third-party' : (recipient as RecipientKind);
}

export const rank = (granularity: Granularity): number => GRANULARITIES.indexOf(granularity);
export const finer = (a: Granularity, b: Granularity): Granularity => (rank(a) >= rank(b) ? a : b);
export const coarser = (a: Granularity, b: Granularity): Granularity => (rank(a) <= rank(b) ? a : b);

/** Which occupancies a rule applies to: by consumer class and by when their supply contract was made. */
export interface Applicability {
  /** All classes when absent. */
  consumerClasses?: readonly ConsumerClass[];
  /** Contracts made on or after this ISO date (a contract of unknown date counts as a new one). */
  contractsFrom?: string;
  /** Contracts made before this ISO date (a contract of unknown date does not qualify). */
  contractsBefore?: string;
}

export interface BasisRule {
  /** The finest granularity an entry on this basis may permit. */
  max: Granularity;
  /** The occupancies the basis is open to: any of these (all when absent). */
  for?: readonly Applicability[];
  /** Days from the notice to the entry taking effect (opt-out defaults). */
  noticeDays?: number;
}

export interface DefaultRule extends Applicability {
  /** What a new occupancy starts from, with no ledger entry. */
  granularity: Granularity;
  basis: ConsentBasis;
}

export interface OptOutRule extends Applicability {
  /** Where an opt-out lands: it caps the default and legal-obligation permissions, never consent. */
  to: Granularity;
  /** The basis being objected to, recorded on the opt-out entry. */
  basis: ConsentBasis;
}

export interface PurposeRule {
  recipients: readonly RecipientKind[];
  /** Permitted with no entry: needs no consent and cannot be withdrawn or opted out of. */
  floor: Granularity;
  /** First matching rule wins. */
  defaults?: readonly DefaultRule[];
  /** Bases absent here cannot be recorded for the purpose. */
  bases: Partial<Record<ConsentBasis, BasisRule>>;
  /** Absent: no opt-out (only consent can be withdrawn). */
  optOut?: OptOutRule;
  /** A grant must state its prospective period (effectiveTo) and may reach back (historicalFrom). */
  requiresPeriod?: boolean;
  /** Takes its permission from another purpose of the same recipient (ledger and defaults alike). */
  follows?: string;
}

export interface ConsentPolicy {
  /** `gb`, or a tenant's own id for an override. */
  id: string;
  /** Raised on every change: each ledger entry records the policy version it was decided under. */
  version: number;
  /** The policy this one overrides, as `id@version`. */
  basedOn?: string;
  /** Where calendar windows (months, days) are cut, for the release gate. */
  timeZone: string;
  purposes: Readonly<Record<string, PurposeRule>>;
}

export const policyRef = (policy: ConsentPolicy) => `${policy.id}@${policy.version}`;

/** The occupancy as the rules see it: its period and the terms of its supply contract. */
export interface OccupancyTerms {
  occupancyId: string;
  from: Date;
  /** Exclusive; null while open. */
  to: Date | null;
  consumerClass: ConsumerClass;
  /** When the supply contract was made; null when unknown (treated as a new contract). */
  contractDate: Date | null;
}

export function applies(rule: Applicability, occupancy: OccupancyTerms): boolean {
  if (rule.consumerClasses && !rule.consumerClasses.includes(occupancy.consumerClass)) return false;
  const made = occupancy.contractDate?.getTime();
  if (rule.contractsFrom !== undefined && made !== undefined && made < Date.parse(rule.contractsFrom))
    return false;
  if (rule.contractsBefore !== undefined && (made === undefined || made >= Date.parse(rule.contractsBefore)))
    return false;
  return true;
}

export function appliesToAny(
  rules: readonly Applicability[] | undefined,
  occupancy: OccupancyTerms,
): boolean {
  return rules === undefined || rules.some((rule) => applies(rule, occupancy));
}

/** A purpose's rule as written (`follows` not resolved). */
export function ruleOf(policy: ConsentPolicy, purpose: string): PurposeRule | undefined {
  return Object.hasOwn(policy.purposes, purpose) ? policy.purposes[purpose] : undefined;
}

/** What is wrong with a policy document; empty when it is usable. */
export function checkPolicy(policy: ConsentPolicy): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(policy.version) || policy.version < 1) problems.push('version: a positive integer');
  for (const [purpose, rule] of Object.entries(policy.purposes)) {
    if (!PURPOSE.test(purpose)) problems.push(`${purpose}: not a purpose name`);
    if (rule.follows !== undefined) {
      const target = ruleOf(policy, rule.follows);
      if (!target) problems.push(`${purpose}: follows unknown purpose ${rule.follows}`);
      else if (target.follows !== undefined)
        problems.push(`${purpose}: follows a purpose that follows another`);
      continue;
    }
    for (const [basis, basisRule] of Object.entries(rule.bases))
      if (rank(basisRule.max) < rank(rule.floor))
        problems.push(`${purpose}: ${basis} permits less than the floor`);
    if (rule.optOut && rank(rule.optOut.to) < rank(rule.floor))
      problems.push(`${purpose}: an opt-out cannot go below the floor`);
  }
  return problems;
}

export interface PolicyOverride {
  id: string;
  version: number;
  timeZone?: string;
  /** A purpose's fields replaced; null removes the purpose. */
  purposes?: Readonly<Record<string, Partial<PurposeRule> | null>>;
}

/** A tenant's policy: the base with the override's purposes replaced, added or removed. */
export function overridePolicy(base: ConsentPolicy, override: PolicyOverride): ConsentPolicy {
  const purposes: Record<string, PurposeRule> = { ...base.purposes };
  for (const [purpose, change] of Object.entries(override.purposes ?? {})) {
    if (change === null) {
      delete purposes[purpose];
      continue;
    }
    const current = purposes[purpose];
    if (!current && (change.recipients === undefined || change.floor === undefined || !change.bases))
      throw new Error(`${purpose}: a new purpose needs recipients, floor and bases`);
    purposes[purpose] = { ...current, ...change } as PurposeRule;
  }
  const policy: ConsentPolicy = {
    id: override.id,
    version: override.version,
    basedOn: policyRef(base),
    timeZone: override.timeZone ?? base.timeZone,
    purposes,
  };
  const problems = checkPolicy(policy);
  if (problems.length > 0) throw new Error(`Invalid consent policy: ${problems.join('; ')}`);
  return policy;
}
