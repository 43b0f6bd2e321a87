import { z } from 'zod';
import { sha256Hex } from '../events/common';
import { defineHttpRoute, httpError } from './http-route';

/**
 * `GET /v1/audit/verify` on each service that keeps a hash chain (enrollment, privacy, the OTA
 * distributor): recomputes the calling tenant's chain from the records the service stores beside its
 * chain head, and names the first broken record. Spec privacy.md §4.9.
 */

/** At most this many records are checked by one call; `nextFrom` continues past it. */
export const AUDIT_VERIFY_MAX_RECORDS = 100_000;

/** Why a record breaks the chain. */
export const AUDIT_BREAK_REASONS = [
  /** No stored record with this sequence (deleted, or never stored). */
  'missing-record',
  /** The stored record is not an audit record (its JSON does not validate). */
  'malformed-record',
  /** The record names another tenant or another sequence than the row it is stored in. */
  'misplaced-record',
  /** The record's content no longer hashes to its digest: it was changed. */
  'digest-mismatch',
  /** The record does not name the digest of the record before it. */
  'link-mismatch',
  /** The last record is not the stored chain head (records cut off the end, or the head changed). */
  'head-mismatch',
] as const;
export type AuditBreakReason = (typeof AUDIT_BREAK_REASONS)[number];

const sequence = z.number().int().nonnegative();
const chainPoint = z.object({ sequence, digest: sha256Hex });

export const auditVerifyQuery = z
  .strictObject({
    from: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    to: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
    path: ['to'],
    message: 'to must not be below from',
  });
export type AuditVerifyQuery = z.infer<typeof auditVerifyQuery>;

export const auditChainVerification = z.object({
  tenantId: z.string(),
  intact: z
    .boolean()
    .describe('True when every record checked holds and, checked to the end, meets the head'),
  from: sequence.describe('The first sequence checked'),
  to: sequence.describe('The last sequence that held (from - 1 when none did)'),
  verified: sequence.describe('Records whose digest and link recomputed, from `from` on'),
  head: chainPoint.describe("The tenant's chain head as stored (the empty chain: sequence 0)"),
  anchor: chainPoint.describe(
    'Records up to this sequence predate the stored records (published on audit.events.v1 only); ' +
      'the chain is checked from here',
  ),
  firstBreak: z
    .object({
      sequence: sequence.min(1),
      reason: z.enum(AUDIT_BREAK_REASONS),
      message: z.string(),
    })
    .optional(),
  nextFrom: sequence
    .min(1)
    .optional()
    .describe(`Set when records remain past \`to\` (at most ${AUDIT_VERIFY_MAX_RECORDS} a call)`),
});
export type AuditChainVerification = z.infer<typeof auditChainVerification>;

/** The services that keep an audit chain of their own. */
export type AuditedService = 'enrollment' | 'privacy' | 'ota-distributor';

const example = {
  tenantId: 'utility-north',
  intact: false,
  from: 1,
  to: 7,
  verified: 6,
  head: { sequence: 7, digest: 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb' },
  anchor: { sequence: 0, digest: '0'.repeat(64) },
  firstBreak: {
    sequence: 7,
    reason: 'digest-mismatch',
    message: 'record 7 no longer hashes to its digest',
  },
} as const satisfies z.input<typeof auditChainVerification>;

const auditVerifyRoute = (service: AuditedService) =>
  defineHttpRoute({
    name: `${service}.audit.verify`,
    audience: 'operator',
    method: 'GET',
    path: '/v1/audit/verify',
    summary: `Recompute the calling tenant's audit hash chain kept by ${service}`,
    description:
      "Reads the tenant's stored records in sequence pages (never another tenant's), recomputes each " +
      'digest and link, and answers how many hold, the head, and the first broken sequence with why. ' +
      `At most ${AUDIT_VERIFY_MAX_RECORDS} records a call; \`nextFrom\` continues. Every role reads.`,
    query: auditVerifyQuery as unknown as z.ZodType<Record<string, unknown>, Record<string, string>>,
    responses: {
      200: auditChainVerification,
      400: httpError('INVALID_REQUEST: from or to is not a positive integer, or to < from'),
      401: httpError('UNAUTHENTICATED: no API key, a malformed, unknown or revoked one'),
    },
    examples: [{ title: 'a changed record', query: { from: '1' }, status: 200, response: example }],
  });

export const ENROLLMENT_AUDIT_VERIFY = auditVerifyRoute('enrollment');
export const PRIVACY_AUDIT_VERIFY = auditVerifyRoute('privacy');
export const OTA_AUDIT_VERIFY = auditVerifyRoute('ota-distributor');

export const AUDIT_ROUTES = [ENROLLMENT_AUDIT_VERIFY, PRIVACY_AUDIT_VERIFY, OTA_AUDIT_VERIFY] as const;
