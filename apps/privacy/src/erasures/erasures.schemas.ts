import { z } from 'zod';
import { consentPurpose } from '@meterkeep/contracts';
import { timestamp } from '@meterkeep/service-runtime';
import { apiSchema } from '../openapi/schemas';

const instant = z.iso.datetime({ offset: true }).transform((value) => new Date(value));

export const SubjectRefParam = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');
export const ErasureIdParam = z.string().regex(/^er-[0-9a-f-]{36}$/, 'erasure id');

/**
 * Something the tenant must keep despite the erasure (Art. 17(3)(b) and the like): kept under a retention
 * key of its own per occupancy, destroyed automatically at `retainUntil`. Which law applies is the
 * tenant's (its DPO's) to state; nothing about it is hard-coded. What the request leaves out comes from
 * the tenant's retention schedule for the purpose (PUT /v1/retention-schedules/{purpose}).
 */
export const RetentionSchema = z.strictObject({
  purpose: consentPurpose.describe('The purpose the data is kept for, e.g. billing or settlement'),
  granularity: z.enum(['monthly', 'daily', 'half-hourly']).describe('The finest granularity kept'),
  legalBasis: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('As the tenant states it, e.g. "GDPR Art. 17(3)(b)"; the schedule\'s if absent'),
  reference: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe("The tenant's reference for the obligation; the schedule's if absent"),
  retainUntil: instant
    .optional()
    .describe('When the retention key is destroyed (ISO 8601, in the future); now + the schedule if absent'),
});
export type RetentionRequest = z.infer<typeof RetentionSchema>;
/** A retention with every member resolved (from the request, else the tenant's schedule). */
export type Retention = Required<RetentionRequest>;

export const RequestErasureSchema = apiSchema(
  'RequestErasure',
  z.strictObject({
    retain: z
      .array(RetentionSchema)
      .max(20)
      .default([])
      .refine((items) => new Set(items.map((r) => r.purpose)).size === items.length, {
        message: 'one retention per purpose',
      })
      .describe('Legal holds and retention obligations; the readings key is destroyed regardless'),
  }),
  'input',
);
export type RequestErasureBody = z.infer<typeof RequestErasureSchema>;

export const ERASURE_STATES = [
  'REQUESTED',
  'SCOPED',
  'KEYS_DESTROYED',
  'PURGING',
  'CONFIRMING',
  'CERTIFIED',
  'FAILED',
] as const;

export const ErasureViewSchema = apiSchema(
  'Erasure',
  z.object({
    erasureId: z.string(),
    subjectRef: z.string(),
    state: z.enum(ERASURE_STATES),
    failedIn: z.enum(ERASURE_STATES).nullable().describe('Where a FAILED saga stopped; retry resumes there'),
    lastError: z.string().nullable(),
    partiallyRetained: z.boolean().describe('Some data is kept under retention keys until their date'),
    requestedAt: timestamp,
    keysDestroyedAt: timestamp.nullable(),
    certifiedAt: timestamp.nullable(),
    occupancyIds: z.array(z.string()),
    confirmations: z.array(
      z.object({
        service: z.string(),
        instance: z.string(),
        outcome: z.enum(['completed', 'not-applicable', 'failed']),
        at: timestamp,
      }),
    ),
    certificateId: z.string().nullable(),
  }),
);
export type ErasureView = z.infer<typeof ErasureViewSchema>;
