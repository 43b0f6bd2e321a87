import {
  type ConsentBasis,
  type ConsentPolicy,
  type ConsentStatus,
  type Granularity,
  type OccupancyTerms,
  type PurposeRule,
  applies,
  appliesToAny,
  coarser,
  finer,
  recipientKind,
  ruleOf,
} from './consent-policy';
import { GB_PRESET } from './gb-preset';

/** One row of the consent ledger, as the rules read it. */
export interface LedgerEntry {
  occupancyId: string;
  purpose: string;
  recipient: string;
  granularity: Granularity;
  basis: ConsentBasis;
  status: ConsentStatus;
  effectiveFrom: Date;
  /** Exclusive; null while open-ended. */
  effectiveTo: Date | null;
  /** Third parties: how far back a grant reaches (reading times before effectiveFrom). */
  historicalFrom: Date | null;
  /** 1, 2, 3… per occupancy × purpose × recipient: later versions override earlier ones. */
  version: number;
  /**
   * The policy the entry was decided under: its basis is capped by that version's rule, so a tenant's
   * later override (a basis removed, a cap lowered) never rewrites it. Absent: the policy evaluated.
   */
  decidedUnder?: ConsentPolicy;
}

/** The first instant an entry speaks for: a third-party grant reaches back to its historical start. */
export const coverageFrom = (entry: LedgerEntry): Date => entry.historicalFrom ?? entry.effectiveFrom;

/** Whether an entry speaks for time `at`: [coverageFrom, effectiveTo). */
export function isEffectiveAt(entry: LedgerEntry, at: Date): boolean {
  const t = at.getTime();
  return (
    coverageFrom(entry).getTime() <= t && (entry.effectiveTo === null || t < entry.effectiveTo.getTime())
  );
}

const within = (occupancy: OccupancyTerms, at: Date) =>
  occupancy.from.getTime() <= at.getTime() &&
  (occupancy.to === null || at.getTime() < occupancy.to.getTime());

/** The default a purpose starts from for this occupancy, before any ledger entry. */
export function defaultOf(rule: PurposeRule, occupancy: OccupancyTerms): Granularity {
  const match = rule.defaults?.find((d) => applies(d, occupancy));
  return finer(rule.floor, match?.granularity ?? 'none');
}

/** Where an entry's own granularity is capped by the policy; 'none' when the policy refuses its basis. */
function allowedByPolicy(rule: PurposeRule, entry: LedgerEntry, occupancy: OccupancyTerms): Granularity {
  const decided = entry.decidedUnder && ruleOf(entry.decidedUnder, entry.purpose);
  const basis = (decided ?? rule).bases[entry.basis];
  if (!basis || !appliesToAny(basis.for, occupancy)) return 'none';
  return coarser(entry.granularity, basis.max);
}

/**
 * The finest granularity the ledger permits for (occupancy, recipient, purpose) at `at`: none, monthly,
 * daily or half-hourly. Reads only the entries of this occupancy that are effective at `at`, so consent
 * never carries over to another occupancy and a later change never rewrites the past.
 *
 * Two tracks, in version order: consent (raised by consent grants, ended by a withdrawal) and the
 * other bases (defaults, legal obligation, opt-out defaults; capped for good by an opt-out). The
 * purpose's floor needs neither. The result is the finest of the three.
 */
export function permittedGranularity(
  ledgerEntries: readonly LedgerEntry[],
  occupancy: OccupancyTerms,
  recipient: string,
  purpose: string,
  at: Date,
  policy: ConsentPolicy = GB_PRESET,
): Granularity {
  if (!within(occupancy, at)) return 'none';
  const kind = recipientKind(recipient);
  const own = ruleOf(policy, purpose);
  if (!own || !kind || !own.recipients.includes(kind)) return 'none';
  const governing = own.follows === undefined ? purpose : own.follows;
  const rule = ruleOf(policy, governing);
  if (!rule) return 'none';

  const entries = ledgerEntries
    .filter(
      (e) =>
        e.occupancyId === occupancy.occupancyId &&
        e.purpose === governing &&
        e.recipient === recipient &&
        isEffectiveAt(e, at),
    )
    .sort((a, b) => a.version - b.version);

  let other = defaultOf(rule, occupancy);
  let consent: Granularity = 'none';
  let optOutCap: Granularity | undefined;
  for (const entry of entries) {
    switch (entry.status) {
      case 'granted':
      case 'defaulted': {
        const granted = allowedByPolicy(rule, entry, occupancy);
        if (entry.basis === 'consent') consent = granted;
        else other = optOutCap === undefined ? granted : coarser(granted, optOutCap);
        break;
      }
      case 'withdrawn':
        consent = 'none';
        break;
      case 'opted-out':
        optOutCap = optOutCap === undefined ? entry.granularity : coarser(optOutCap, entry.granularity);
        other = coarser(other, optOutCap);
        break;
    }
  }
  return finer(rule.floor, finer(other, consent));
}

/** A stretch of time with one permitted granularity: [from, to), open-ended when to is null. */
export interface PermissionSegment {
  from: Date;
  to: Date | null;
  granularity: Granularity;
}

/**
 * The permission over the whole occupancy as segments (neighbours merged): what the release gate needs
 * to check a reading's time and the release time from one compacted record. Exact, because the result
 * can only change where an entry starts or stops speaking.
 */
export function permissionTimeline(
  ledgerEntries: readonly LedgerEntry[],
  occupancy: OccupancyTerms,
  recipient: string,
  purpose: string,
  policy: ConsentPolicy = GB_PRESET,
): PermissionSegment[] {
  const start = occupancy.from.getTime();
  const end = occupancy.to?.getTime() ?? Number.POSITIVE_INFINITY;
  const cuts = new Set<number>([start]);
  for (const entry of ledgerEntries) {
    if (entry.occupancyId !== occupancy.occupancyId || entry.recipient !== recipient) continue;
    for (const t of [coverageFrom(entry).getTime(), entry.effectiveTo?.getTime()])
      if (t !== undefined && t > start && t < end) cuts.add(t);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const segments: PermissionSegment[] = [];
  points.forEach((t, i) => {
    const granularity = permittedGranularity(
      ledgerEntries,
      occupancy,
      recipient,
      purpose,
      new Date(t),
      policy,
    );
    const next = points[i + 1];
    const to = next === undefined ? occupancy.to : new Date(next);
    const last = segments.at(-1);
    if (last && last.granularity === granularity) last.to = to;
    else segments.push({ from: new Date(t), to, granularity });
  });
  return segments;
}

/**
 * Whether (recipient, purpose) may receive nothing of the occupancy from `at` on, whatever the reading
 * time: the ledger's permission is none in every stretch that reaches past `at`. What a withdrawal must
 * leave for the purpose's release key to be destroyed (a downgrade, say half-hourly to daily, keeps it).
 */
export function permissionEndedAt(
  ledgerEntries: readonly LedgerEntry[],
  occupancy: OccupancyTerms,
  recipient: string,
  purpose: string,
  at: Date,
  policy: ConsentPolicy = GB_PRESET,
): boolean {
  if (permittedGranularity(ledgerEntries, occupancy, recipient, purpose, at, policy) !== 'none') return false;
  return permissionTimeline(ledgerEntries, occupancy, recipient, purpose, policy).every(
    (segment) =>
      segment.granularity === 'none' || (segment.to !== null && segment.to.getTime() <= at.getTime()),
  );
}
