import { z } from 'zod';
import { consentPurpose } from '../events/privacy-consent.event';
import { defineHttpRoute, httpError } from './http-route';

/**
 * A tenant's retention schedules (spec privacy.md §4.8): per purpose, how long data kept past an
 * erasure (Art. 17(3)(b)) stays under its retention key, with the legal basis the tenant's DPO states.
 * An erasure that names a purpose without a date takes it from here; nothing is hard-coded.
 */

/** At most 100 years: a longer period is a typo, not an obligation. */
export const RETENTION_DAYS_MAX = 36_500;

export const retentionSchedulePut = z.strictObject({
  retainDays: z
    .number()
    .int()
    .min(1)
    .max(RETENTION_DAYS_MAX)
    .describe('Days the retention key lives after the erasure that creates it'),
  legalBasis: z.string().min(1).max(200).describe('As the tenant states it, e.g. "GDPR Art. 17(3)(b)"'),
  reference: z.string().min(1).max(200).describe("The tenant's reference for the obligation"),
});
export type RetentionSchedulePut = z.infer<typeof retentionSchedulePut>;

export const retentionScheduleView = z.object({
  purpose: consentPurpose,
  retainDays: z.number().int(),
  legalBasis: z.string(),
  reference: z.string(),
  updatedAt: z.iso.datetime({ offset: true }),
  updatedBy: z.string(),
});
export type RetentionScheduleView = z.infer<typeof retentionScheduleView>;

const unauthenticated = httpError('UNAUTHENTICATED: no API key, a malformed, unknown or revoked one');
const invalid = httpError('INVALID_REQUEST: the body or the purpose breaks the contract');
const example = {
  purpose: 'billing',
  retainDays: 2_190,
  legalBasis: 'GDPR Art. 17(3)(b): statutory billing records',
  reference: 'DPO-2026-014',
  updatedAt: '2026-12-03T10:00:00.000Z',
  updatedBy: 'key_2f9a',
} as const;

export const PRIVACY_RETENTION_SCHEDULE_PUT = defineHttpRoute({
  name: 'privacy.retention-schedules.put',
  audience: 'operator',
  method: 'PUT',
  path: '/v1/retention-schedules/:purpose',
  summary: "Set the tenant's retention period for a purpose (admin only; audited)",
  description:
    'Idempotent. Applies to erasures requested afterwards that name the purpose without a date; ' +
    'retention keys already made keep their date. The purpose `readings` is the readings retention: an ' +
    "occupancy's readings key is destroyed that many days after it closed.",
  params: { purpose: consentPurpose },
  request: retentionSchedulePut,
  responses: {
    200: retentionScheduleView,
    400: invalid,
    401: unauthenticated,
    403: httpError("FORBIDDEN: the API key's role may not do this (admin only)"),
  },
  examples: [
    {
      title: 'billing records kept six years',
      params: { purpose: 'billing' },
      request: { retainDays: 2_190, legalBasis: example.legalBasis, reference: example.reference },
      status: 200,
      response: example,
    },
  ],
});

export const PRIVACY_RETENTION_SCHEDULE_GET = defineHttpRoute({
  name: 'privacy.retention-schedules.get',
  audience: 'operator',
  method: 'GET',
  path: '/v1/retention-schedules/:purpose',
  summary: "The tenant's retention period for a purpose",
  params: { purpose: consentPurpose },
  responses: {
    200: retentionScheduleView,
    400: invalid,
    401: unauthenticated,
    404: httpError('RETENTION_SCHEDULE_NOT_FOUND: the tenant set none for this purpose'),
  },
  examples: [{ title: 'billing', params: { purpose: 'billing' }, status: 200, response: example }],
});

export const PRIVACY_RETENTION_SCHEDULES_LIST = defineHttpRoute({
  name: 'privacy.retention-schedules.list',
  audience: 'operator',
  method: 'GET',
  path: '/v1/retention-schedules',
  summary: "The tenant's retention schedules, by purpose",
  responses: { 200: z.object({ items: z.array(retentionScheduleView) }), 401: unauthenticated },
  examples: [{ title: 'one schedule', status: 200, response: { items: [example] } }],
});

export const PRIVACY_RETENTION_ROUTES = [
  PRIVACY_RETENTION_SCHEDULE_PUT,
  PRIVACY_RETENTION_SCHEDULE_GET,
  PRIVACY_RETENTION_SCHEDULES_LIST,
] as const;
