import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { endpointName } from './common';

/** Coarsest first. */
export const consentGranularity = z.enum(['none', 'monthly', 'daily', 'half-hourly']);
export const consentBasis = z.enum([
  'legal-obligation',
  'contract',
  'consent',
  'opt-out-default',
  'legitimate-interest',
]);
export const consentStatus = z.enum(['granted', 'defaulted', 'withdrawn', 'opted-out']);
export const consentPurpose = z.string().regex(/^[a-z][a-z0-9-]{0,47}$/, 'purpose');
/** Who receives the data: the supplier, the network operator, or a third party by its id. */
export const consentRecipient = z
  .string()
  .regex(/^(supplier|dno|third-party:[a-z0-9][a-z0-9-]{0,62})$/, 'supplier | dno | third-party:<id>');
const occupancyId = z.string().min(1).max(64);
const instant = z.iso.datetime({ offset: true });

/**
 * One entry of the consent ledger (append-only, per occupancy × purpose × recipient). Ids, purposes and
 * granularities only: strict, so a subject reference, a name or the evidence can never ride along.
 */
export const privacyConsentEvent = z.strictObject({
  ...eventEnvelope.shape,
  consentId: z.string().min(1).max(64),
  occupancyId,
  meterId: endpointName,
  purpose: consentPurpose,
  recipient: consentRecipient,
  granularity: consentGranularity,
  basis: consentBasis,
  status: consentStatus,
  effectiveFrom: instant,
  effectiveTo: instant.optional(),
  /** Third parties: reading times before effectiveFrom the grant reaches back to. */
  historicalFrom: instant.optional(),
  /** The policy the entry was decided under, as id@version. */
  policy: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}@[1-9][0-9]{0,8}$/, 'policy id@version'),
  /** 1, 2, 3… per occupancy × purpose × recipient. */
  version: z.int().min(1),
});
export type PrivacyConsentEvent = z.infer<typeof privacyConsentEvent>;

export const PRIVACY_CONSENTS = defineTopic<PrivacyConsentEvent>({
  name: 'privacy.consents.v1',
  producers: ['privacy'],
  consumers: [],
  schema: privacyConsentEvent,
  key: (event) => `${event.tenantId}/${event.occupancyId}`,
  partitions: 6,
  example: {
    eventId: '5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T09:30:00.000Z',
    consentId: 'con-4f1d9c2a-8b7e-4c6d-9a1b-2c3d4e5f6a7b',
    occupancyId: 'occ-7f3e',
    meterId: 'MTR-000001',
    purpose: 'supplier-insights',
    recipient: 'supplier',
    granularity: 'half-hourly',
    basis: 'consent',
    status: 'granted',
    effectiveFrom: '2026-11-26T09:30:00.000Z',
    policy: 'gb@1',
    version: 2,
  },
});

/**
 * The permission of one (occupancy, purpose, recipient) over the occupancy's time, as consecutive
 * segments: the release gate checks a reading's time and the release time against the same record.
 */
export const consentSegment = z.strictObject({
  from: instant,
  /** Exclusive; absent while open-ended. */
  to: instant.optional(),
  granularity: consentGranularity,
});

/** Compacted: the latest record per occupancy × purpose × recipient is the truth. */
export const privacyConsentStateEvent = z.strictObject({
  ...eventEnvelope.shape,
  occupancyId,
  meterId: endpointName,
  purpose: consentPurpose,
  recipient: consentRecipient,
  /** The ledger version this state reflects (0: the policy's defaults, no entry yet). */
  version: z.int().min(0),
  policy: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}@[1-9][0-9]{0,8}$/, 'policy id@version'),
  permissions: z.array(consentSegment).min(1).max(1_000),
});
export type PrivacyConsentStateEvent = z.infer<typeof privacyConsentStateEvent>;

export const PRIVACY_CONSENT_STATE = defineTopic<PrivacyConsentStateEvent>({
  name: 'privacy.consent-state.v1',
  producers: ['privacy'],
  consumers: [],
  schema: privacyConsentStateEvent,
  key: (event) => `${event.tenantId}/${event.occupancyId}/${event.purpose}/${event.recipient}`,
  partitions: 6,
  config: { 'cleanup.policy': 'compact' },
  example: {
    eventId: '6c7d8e9f-0a1b-4c2d-8e3f-4a5b6c7d8e9f',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T09:30:00.000Z',
    occupancyId: 'occ-7f3e',
    meterId: 'MTR-000001',
    purpose: 'supplier-insights',
    recipient: 'supplier',
    version: 2,
    policy: 'gb@1',
    permissions: [
      { from: '2026-11-01T00:00:00.000Z', to: '2026-11-26T09:30:00.000Z', granularity: 'monthly' },
      { from: '2026-11-26T09:30:00.000Z', granularity: 'half-hourly' },
    ],
  },
});
