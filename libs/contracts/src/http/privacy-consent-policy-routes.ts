import { z } from 'zod';
import { consentPurpose } from '../events/privacy-consent.event';
import { defineHttpRoute, httpError } from './http-route';

/**
 * A tenant's consent policy (spec §3, issue #14): the preset (GB) with the tenant's override. Policies
 * are versioned data: each PUT makes the next version, and every consent entry keeps the version it was
 * decided under, so an override changes later decisions only.
 */
const granularity = z.enum(['none', 'monthly', 'daily', 'half-hourly']);
const basis = z.enum(['legal-obligation', 'contract', 'consent', 'opt-out-default', 'legitimate-interest']);
const isoDate = z.iso.date();
const applicability = {
  consumerClasses: z
    .array(z.enum(['domestic', 'microbusiness']))
    .min(1)
    .max(2)
    .optional(),
  contractsFrom: isoDate.optional(),
  contractsBefore: isoDate.optional(),
};

export const consentBasisRule = z.strictObject({
  /** The finest granularity an entry on this basis may permit. */
  max: granularity,
  for: z.array(z.strictObject(applicability)).min(1).max(8).optional(),
  /** Days from the notice to an opt-out default taking effect. */
  noticeDays: z.int().min(0).max(90).optional(),
});

export const consentPurposeRule = z.strictObject({
  recipients: z
    .array(z.enum(['supplier', 'dno', 'third-party']))
    .min(1)
    .max(3),
  floor: granularity,
  defaults: z
    .array(z.strictObject({ ...applicability, granularity, basis }))
    .max(8)
    .optional(),
  bases: z.partialRecord(basis, consentBasisRule),
  optOut: z.strictObject({ ...applicability, to: granularity, basis }).optional(),
  requiresPeriod: z.boolean().optional(),
  follows: consentPurpose.optional(),
});

export const consentPolicyPut = z.strictObject({
  /** The version this override replaces (0: the preset): a stale one is refused, nothing is lost. */
  replacesVersion: z.int().min(0),
  reason: z
    .string()
    .min(1)
    .max(200)
    .describe('Why, as the tenant states it (the DPO decision, legal advice): kept on the audit chain'),
  /** IANA zone whose offsets are whole half-hours; the preset's when absent. */
  timeZone: z.string().min(1).max(64).optional(),
  /** Per purpose, the fields replaced (a new purpose needs recipients, floor and bases); null removes it. */
  purposes: z
    .record(consentPurpose, consentPurposeRule.partial().nullable())
    .refine((purposes) => Object.keys(purposes).length <= 32, 'at most 32 purposes'),
});
export type ConsentPolicyPut = z.infer<typeof consentPolicyPut>;

export const consentPolicyView = z.object({
  /** id@version: what consent entries record as their policy. */
  policy: z.string(),
  /** 0 while the tenant runs the preset. */
  version: z.int().min(0),
  basedOn: z.string().nullable(),
  isPreset: z.boolean(),
  timeZone: z.string(),
  /** The effective rules, per purpose. */
  purposes: z.record(consentPurpose, consentPurposeRule),
  /** What the tenant's override changes (null for the preset). */
  override: consentPolicyPut.omit({ replacesVersion: true, reason: true }).nullable(),
  reason: z.string().nullable(),
  updatedAt: z.iso.datetime({ offset: true }).nullable(),
  updatedBy: z.string().nullable(),
});
export type ConsentPolicyView = z.infer<typeof consentPolicyView>;

const unauthenticated = httpError('UNAUTHENTICATED: no API key, a malformed, unknown or revoked one');

const exampleOverride = {
  purposes: {
    'supplier-insights': {
      bases: {
        'opt-out-default': { max: 'daily' as const, noticeDays: 14 },
        consent: { max: 'half-hourly' as const },
      },
    },
  },
};

export const PRIVACY_CONSENT_POLICY_PUT = defineHttpRoute({
  name: 'privacy.consent-policy.put',
  audience: 'operator',
  method: 'PUT',
  path: '/v1/consent-policy',
  summary: 'Override the consent policy preset for this tenant (admin only; a new version, audited)',
  description:
    'The body is the whole override of the preset (it replaces the previous override) and becomes the next ' +
    'version. Consent entries recorded earlier keep the version they were decided under; later changes and ' +
    'releases follow the new one. A stale replacesVersion is refused (409); rules that contradict each ' +
    'other (a basis below the floor, an opt-out below it, following an unknown purpose) are refused (422).',
  request: consentPolicyPut,
  responses: {
    200: consentPolicyView,
    400: httpError('INVALID_REQUEST: the body breaks the contract'),
    401: unauthenticated,
    403: httpError("FORBIDDEN: the API key's role may not do this (admin only)"),
    409: httpError('POLICY_VERSION_CONFLICT: replacesVersion is not the current version'),
    422: httpError('INVALID_POLICY: the rules contradict each other, or the time zone is not usable'),
  },
  examples: [
    {
      title: "fourteen days' notice before the daily default",
      request: { replacesVersion: 0, reason: 'DPO-2026-044: longer notice', ...exampleOverride },
      status: 200,
      response: {
        policy: 'utility-north@1',
        version: 1,
        basedOn: 'gb@1',
        isPreset: false,
        timeZone: 'Europe/London',
        purposes: {
          'supplier-insights': {
            recipients: ['supplier'],
            floor: 'monthly',
            bases: exampleOverride.purposes['supplier-insights'].bases,
            optOut: { to: 'monthly', basis: 'opt-out-default' },
          },
        },
        override: exampleOverride,
        reason: 'DPO-2026-044: longer notice',
        updatedAt: '2026-12-03T10:00:00.000Z',
        updatedBy: 'key_2f9a',
      },
    },
  ],
});

export const PRIVACY_CONSENT_POLICY_GET = defineHttpRoute({
  name: 'privacy.consent-policy.get',
  audience: 'operator',
  method: 'GET',
  path: '/v1/consent-policy',
  summary: "The tenant's effective consent policy and its version",
  responses: { 200: consentPolicyView, 401: unauthenticated },
  examples: [
    {
      title: 'the preset',
      status: 200,
      response: {
        policy: 'gb@1',
        version: 0,
        basedOn: null,
        isPreset: true,
        timeZone: 'Europe/London',
        purposes: {
          marketing: { recipients: ['supplier'], floor: 'none', bases: { consent: { max: 'half-hourly' } } },
        },
        override: null,
        reason: null,
        updatedAt: null,
        updatedBy: null,
      },
    },
  ],
});

export const PRIVACY_CONSENT_POLICY_ROUTES = [
  PRIVACY_CONSENT_POLICY_PUT,
  PRIVACY_CONSENT_POLICY_GET,
] as const;
