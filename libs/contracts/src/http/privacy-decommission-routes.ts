import { z } from 'zod';
import { defineHttpRoute, httpError } from './http-route';

/**
 * What decommissioning a meter does to the occupancy it closes, per tenant: `erase` (the secure default)
 * erases it through the erasure saga, with a certificate; `retain` keeps its keys until the subject's own
 * erasure or the readings retention schedule ends them. Changing it is an admin's act, with a reason on
 * the audit chain.
 */
export const decommissionPolicy = z.enum(['erase', 'retain']);

export const decommissionPolicyPut = z.strictObject({
  policy: decommissionPolicy,
  reason: z
    .string()
    .min(1)
    .max(200)
    .describe('Why, as the tenant states it (the DPO decision, a legal basis): kept on the audit chain'),
});
export type DecommissionPolicyPut = z.infer<typeof decommissionPolicyPut>;

export const decommissionPolicyView = z.object({
  policy: decommissionPolicy,
  /** True while the tenant has set none: the default applies. */
  isDefault: z.boolean(),
  updatedAt: z.iso.datetime({ offset: true }).nullable(),
  updatedBy: z.string().nullable(),
});
export type DecommissionPolicyView = z.infer<typeof decommissionPolicyView>;

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
  },
  examples: [
    {
      title: 'keep the last occupancy for billing disputes',
      request: { policy: 'retain', reason: 'DPO-2026-031: billing disputes, readings retention 2,190 days' },
      status: 200,
      response: {
        policy: 'retain',
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
      response: { policy: 'erase', isDefault: true, updatedAt: null, updatedBy: null },
    },
  ],
});

export const PRIVACY_DECOMMISSION_ROUTES = [
  PRIVACY_DECOMMISSION_POLICY_PUT,
  PRIVACY_DECOMMISSION_POLICY_GET,
] as const;
