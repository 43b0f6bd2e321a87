import { randomUUID } from 'node:crypto';
import type { PrivacyConsentEvent, PrivacyConsentStateEvent } from '@meterkeep/contracts';
import type { ConsentRow } from '../core/database';
import {
  type ConsentPolicy,
  type LedgerEntry,
  type OccupancyTerms,
  permissionTimeline,
  policyRef,
} from './policy';

/** A ledger entry as the topic carries it: ids, purpose, granularity; never the evidence or the actor. */
export function consentEvent(row: ConsentRow, meterId: string, now: Date): PrivacyConsentEvent {
  return {
    eventId: randomUUID(),
    tenantId: row.tenant_id,
    occurredAt: now.toISOString(),
    consentId: row.consent_id,
    occupancyId: row.occupancy_id,
    meterId,
    purpose: row.purpose,
    recipient: row.recipient,
    granularity: row.granularity as PrivacyConsentEvent['granularity'],
    basis: row.basis as PrivacyConsentEvent['basis'],
    status: row.status as PrivacyConsentEvent['status'],
    effectiveFrom: row.effective_from.toISOString(),
    ...(row.effective_to && { effectiveTo: row.effective_to.toISOString() }),
    ...(row.historical_from && { historicalFrom: row.historical_from.toISOString() }),
    policy: row.policy,
    version: row.version,
  };
}

/**
 * The permission over the occupancy for the purpose that changed and for every purpose that follows
 * it (forecasting follows settlement), one compacted record each.
 */
export function consentStateEvents(
  policy: ConsentPolicy,
  occupancy: OccupancyTerms,
  meta: { tenantId: string; meterId: string },
  entries: readonly LedgerEntry[],
  changed: { purpose: string; recipient: string },
  now: Date,
): PrivacyConsentStateEvent[] {
  const followers = Object.entries(policy.purposes)
    .filter(([, rule]) => rule.follows === changed.purpose)
    .map(([purpose]) => purpose);
  const version = Math.max(
    0,
    ...entries
      .filter((e) => e.purpose === changed.purpose && e.recipient === changed.recipient)
      .map((e) => e.version),
  );
  return [changed.purpose, ...followers].map((purpose) => ({
    eventId: randomUUID(),
    tenantId: meta.tenantId,
    occurredAt: now.toISOString(),
    occupancyId: occupancy.occupancyId,
    meterId: meta.meterId,
    purpose,
    recipient: changed.recipient,
    version,
    policy: policyRef(policy),
    permissions: permissionTimeline(entries, occupancy, changed.recipient, purpose, policy).map((s) => ({
      from: s.from.toISOString(),
      ...(s.to && { to: s.to.toISOString() }),
      granularity: s.granularity,
    })),
  }));
}

/**
 * What a new occupancy starts from, before any ledger entry (version 0): one state per purpose of the
 * policy and each recipient it admits besides third parties (who start from nothing), so the release
 * gate's read model knows the preset defaults (settlement half-hourly, billing monthly) from the start.
 */
export function defaultConsentStates(
  policy: ConsentPolicy,
  occupancy: OccupancyTerms,
  meta: { tenantId: string; meterId: string },
  now: Date,
): PrivacyConsentStateEvent[] {
  return Object.entries(policy.purposes).flatMap(([purpose, rule]) =>
    rule.recipients
      .filter((kind) => kind !== 'third-party')
      .flatMap((recipient) =>
        consentStateEvents(policy, occupancy, meta, [], { purpose, recipient }, now).filter(
          (event) => event.purpose === purpose,
        ),
      ),
  );
}
