import { z } from 'zod';
import { consentPurpose } from '../events/privacy-consent.event';
import { defineHttpRoute, httpError } from './http-route';

/**
 * What decommissioning a meter does to the occupancy it closes, per tenant: `erase` (the secure default)
 * erases it through the erasure saga, with a certificate; `retain` keeps its keys until the subject's own
 * erasure or the readings retention schedule ends them. Changing it is an admin's act, with a reason on
 * the audit chain.
 */
export const decommissionPolicy = z.enum(['erase', 'retain']);

/**
 * A purpose an `erase` keeps under a retention key (Art. 17(3)(b)), at a granularity no finer than given,
 * until the tenant's retention schedule for that purpose runs out (its legal basis and reference too).
 */
export const decommissionRetention = z.strictObject({
  purpose: consentPurpose.describe('A purpose with a retention schedule, e.g. billing'),
  granularity: z.enum(['monthly', 'daily', 'half-hourly']).describe('The finest granularity kept'),
});

export const decommissionPolicyPut = z
  .strictObject({
    policy: decommissionPolicy,
    reason: z
      .string()
      .min(1)
      .max(200)
      .describe('Why, as the tenant states it (the DPO decision, a legal basis): kept on the audit chain'),
    retentions: z
      .array(decommissionRetention)
      .max(20)
      .default([])
      .refine((items) => new Set(items.map((r) => r.purpose)).size === items.length, {
        message: 'one retention per purpose',
      })
      .describe(
        'With `erase`: purposes kept under retention keys until their schedule runs out; the readings key ' +
          'is destroyed regardless. Each needs a retention schedule. Not with `retain` (it keeps everything).',
      ),
  })
  .refine((body) => body.policy === 'erase' || body.retentions.length === 0, {
    path: ['retentions'],
    message: 'only with policy erase: retain keeps every key',
  });
export type DecommissionPolicyPut = z.infer<typeof decommissionPolicyPut>;

export const decommissionPolicyView = z.object({
  policy: decommissionPolicy,
  // Optional for the routes' compatibility (added after them); this service always sends it.
  retentions: z
    .array(decommissionRetention)
    .optional()
    .describe('With `erase`: the purposes kept under retention keys; absent or empty: none'),
  /** True while the tenant has set none: the default applies. */
  isDefault: z.boolean(),
  updatedAt: z.iso.datetime({ offset: true }).nullable(),
  updatedBy: z.string().nullable(),
});
export type DecommissionPolicyView = z.infer<typeof decommissionPolicyView>;
export type DecommissionRetention = z.infer<typeof decommissionRetention>;

const unauthenticated = httpError('UNAUTHENTICATED: no API key, a malformed, unknown or revoked one');

export const PRIVACY_DECOMMISSION_POLICY_PUT = defineHttpRoute({
  name: 'privacy.decommission-policy.put',
  audience: 'operator',
  method: 'PUT',
  path: '/v1/decommission-policy',
  summary: "Set what decommissioning does to a meter's last occupancy (admin only; audited)",
  description:
    'Idempotent. Applies to decommissionings privacy handles afterwards; those under way keep the policy ' +
    'they started with. `retain` needs a reason the tenant can stand behind: the audit record keeps it.',
  request: decommissionPolicyPut,
  responses: {
    200: decommissionPolicyView,
    400: httpError('INVALID_REQUEST: the body breaks the contract'),
    401: unauthenticated,
    403: httpError("FORBIDDEN: the API key's role may not do this (admin only)"),
    422: httpError('RETENTION_SCHEDULE_MISSING: a retention names a purpose the tenant has no schedule for'),
  },
  examples: [
    {
      title: 'keep the last occupancy for billing disputes',
      request: { policy: 'retain', reason: 'DPO-2026-031: billing disputes, readings retention 2,190 days' },
      status: 200,
      response: {
        policy: 'retain',
        retentions: [],
        isDefault: false,
        updatedAt: '2026-12-03T10:00:00.000Z',
        updatedBy: 'key_2f9a',
      },
    },
    {
      title: 'erase, keeping monthly billing totals for their schedule',
      request: {
        policy: 'erase',
        reason: 'DPO-2026-044: billing records kept 6 years (Limitation Act 1980)',
        retentions: [{ purpose: 'billing', granularity: 'monthly' }],
      },
      status: 200,
      response: {
        policy: 'erase',
        retentions: [{ purpose: 'billing', granularity: 'monthly' }],
        isDefault: false,
        updatedAt: '2026-12-03T10:00:00.000Z',
        updatedBy: 'key_2f9a',
      },
    },
  ],
});

export const PRIVACY_DECOMMISSION_POLICY_GET = defineHttpRoute({
  name: 'privacy.decommission-policy.get',
  audience: 'operator',
  method: 'GET',
  path: '/v1/decommission-policy',
  summary: "What decommissioning does to a meter's last occupancy in this tenant",
  responses: { 200: decommissionPolicyView, 401: unauthenticated },
  examples: [
    {
      title: 'the default',
      status: 200,
      response: { policy: 'erase', retentions: [], isDefault: true, updatedAt: null, updatedBy: null },
    },
  ],
});

export const PRIVACY_DECOMMISSION_ROUTES = [
  PRIVACY_DECOMMISSION_POLICY_PUT,
  PRIVACY_DECOMMISSION_POLICY_GET,
] as const;
