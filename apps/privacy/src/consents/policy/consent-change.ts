import type { HttpErrorBody } from '@meterkeep/contracts';
import {
  type ConsentBasis,
  type ConsentPolicy,
  type ConsentStatus,
  type Granularity,
  type OccupancyTerms,
  appliesToAny,
  rank,
  recipientKind,
  ruleOf,
} from './consent-policy';
import { type LedgerEntry, defaultOf } from './permitted-granularity';

const DAY_MS = 86_400_000;

export type ConsentChangeRequest =
  | {
      action: 'grant';
      purpose: string;
      recipient: string;
      granularity: Granularity;
      basis: ConsentBasis;
      /** Defaults to now; never before it (use historicalFrom for a third party's past). */
      effectiveFrom?: Date;
      effectiveTo?: Date;
      historicalFrom?: Date;
      /** Opt-out defaults: when the customer was told; the default takes effect noticeDays later. */
      noticeSentAt?: Date;
    }
  | { action: 'withdraw'; purpose: string; recipient: string }
  | { action: 'opt-out'; purpose: string; recipient: string };

/** Why the rules refuse a change; the HTTP edge maps each to a status and keeps the code. */
export type ConsentRefusalCode =
  | 'PURPOSE_UNKNOWN'
  | 'RECIPIENT_NOT_ALLOWED'
  | 'BASIS_NOT_ALLOWED'
  | 'GRANULARITY_NOT_PERMITTED'
  | 'NOTICE_REQUIRED'
  | 'OPT_OUT_NOT_AVAILABLE'
  | 'OPTED_OUT'
  | 'PERIOD_REQUIRED'
  | 'INVALID_PERIOD'
  | 'OCCUPANCY_CLOSED';

/** An error body (libs/contracts) with one of the rules' codes. */
export type ConsentRefusal = Omit<HttpErrorBody, 'code'> & { code: ConsentRefusalCode };

/** The ledger entry a change becomes (ids, actor and evidence are the caller's to add). */
export interface DecidedEntry extends Omit<LedgerEntry, 'occupancyId'> {
  noticeSentAt: Date | null;
}

export type ConsentDecision = { ok: true; entry: DecidedEntry } | { ok: false; refusal: ConsentRefusal };

const refuse = (code: ConsentRefusalCode, message: string): ConsentDecision => ({
  ok: false,
  refusal: { code, message },
});

/**
 * Decides whether the policy lets `request` into the ledger of `occupancy` at `now`, and as which
 * entry. `history` is the occupancy's ledger for the same purpose and recipient. Withdrawals and
 * opt-outs take effect at once (SLC 47: withdraw at any time [P3]); a grant never takes effect in the
 * past, and an opt-out default only noticeDays after its notice [P4].
 */
export function decideConsentChange(
  policy: ConsentPolicy,
  occupancy: OccupancyTerms,
  history: readonly LedgerEntry[],
  request: ConsentChangeRequest,
  now: Date,
): ConsentDecision {
  const { purpose, recipient } = request;
  const rule = ruleOf(policy, purpose);
  if (!rule) return refuse('PURPOSE_UNKNOWN', `The policy ${policy.id} has no purpose ${purpose}`);
  if (rule.follows !== undefined)
    return refuse('PURPOSE_UNKNOWN', `${purpose} follows ${rule.follows}: record the change there`);
  const kind = recipientKind(recipient);
  if (!kind || !rule.recipients.includes(kind))
    return refuse('RECIPIENT_NOT_ALLOWED', `${purpose} data may not go to ${recipient}`);
  const own = history
    .filter(
      (e) => e.occupancyId === occupancy.occupancyId && e.purpose === purpose && e.recipient === recipient,
    )
    .sort((a, b) => a.version - b.version);
  const version = (own.at(-1)?.version ?? 0) + 1;
  const base = { purpose, recipient, version, effectiveTo: null, historicalFrom: null, noticeSentAt: null };

  if (request.action === 'withdraw')
    return {
      ok: true,
      entry: { ...base, granularity: 'none', basis: 'consent', status: 'withdrawn', effectiveFrom: now },
    };

  if (request.action === 'opt-out') {
    const optOut = rule.optOut;
    if (!optOut || !appliesToAny([optOut], occupancy))
      return refuse('OPT_OUT_NOT_AVAILABLE', `${purpose} has no opt-out for this occupancy`);
    return {
      ok: true,
      entry: {
        ...base,
        granularity: optOut.to,
        basis: optOut.basis,
        status: 'opted-out',
        effectiveFrom: now,
      },
    };
  }

  const { granularity, basis } = request;
  if (occupancy.to !== null && occupancy.to.getTime() <= now.getTime())
    return refuse('OCCUPANCY_CLOSED', 'The occupancy has ended: nothing can be granted for it any more');
  const basisRule = rule.bases[basis];
  if (!basisRule || !appliesToAny(basisRule.for, occupancy))
    return refuse('BASIS_NOT_ALLOWED', `${basis} is not a basis for ${purpose} for this occupancy`);
  if (rank(granularity) > rank(basisRule.max))
    return refuse(
      'GRANULARITY_NOT_PERMITTED',
      `${basis} permits at most ${basisRule.max} for ${purpose}, not ${granularity}`,
    );
  if (rank(granularity) <= rank('none'))
    return refuse('GRANULARITY_NOT_PERMITTED', 'A grant permits some granularity; withdraw instead');

  const requested = request.effectiveFrom ?? now;
  if (requested.getTime() < now.getTime())
    return refuse('INVALID_PERIOD', 'A grant cannot take effect in the past');
  let effectiveFrom = requested;
  let status: ConsentStatus = 'granted';
  if (basis === 'opt-out-default') {
    if (!request.noticeSentAt) return refuse('NOTICE_REQUIRED', 'An opt-out default needs noticeSentAt');
    if (request.noticeSentAt.getTime() > now.getTime())
      return refuse('INVALID_PERIOD', 'A notice cannot be sent in the future');
    if (own.some((e) => e.status === 'opted-out'))
      return refuse('OPTED_OUT', `The customer opted out of ${purpose}: only their consent raises it`);
    const noticeEnds = request.noticeSentAt.getTime() + (basisRule.noticeDays ?? 0) * DAY_MS;
    effectiveFrom = new Date(Math.max(effectiveFrom.getTime(), noticeEnds));
    status = 'defaulted';
  } else if (basis !== 'consent' && own.some((e) => e.status === 'opted-out')) {
    return refuse('OPTED_OUT', `The customer opted out of ${purpose}: only their consent raises it`);
  }

  const { effectiveTo, historicalFrom } = request;
  if (rule.requiresPeriod && !effectiveTo)
    return refuse('PERIOD_REQUIRED', `${purpose} grants state their prospective period (effectiveTo)`);
  if (effectiveTo && effectiveTo.getTime() <= effectiveFrom.getTime())
    return refuse('INVALID_PERIOD', 'effectiveTo must lie after the grant takes effect');
  if (occupancy.to !== null && effectiveFrom.getTime() >= occupancy.to.getTime())
    return refuse('INVALID_PERIOD', 'The grant would take effect after the occupancy ends');
  if (historicalFrom) {
    if (!rule.requiresPeriod)
      return refuse('INVALID_PERIOD', `${purpose} grants do not reach back (historicalFrom)`);
    if (historicalFrom.getTime() > effectiveFrom.getTime())
      return refuse('INVALID_PERIOD', 'historicalFrom must not lie after the grant takes effect');
    if (historicalFrom.getTime() < occupancy.from.getTime())
      return refuse('INVALID_PERIOD', 'historicalFrom reaches before the occupancy (another household)');
  }
  return {
    ok: true,
    entry: {
      ...base,
      granularity,
      basis,
      status,
      effectiveFrom,
      effectiveTo: effectiveTo ?? null,
      historicalFrom: historicalFrom ?? null,
      noticeSentAt: request.noticeSentAt ?? null,
    },
  };
}

/** What a purpose starts from for a new occupancy (no entries): the preset's default. */
export function startingGranularity(policy: ConsentPolicy, occupancy: OccupancyTerms, purpose: string) {
  const own = ruleOf(policy, purpose);
  const rule = own?.follows === undefined ? own : ruleOf(policy, own.follows);
  return rule ? defaultOf(rule, occupancy) : 'none';
}
