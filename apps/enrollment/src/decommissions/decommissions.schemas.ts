import { z } from 'zod';
import { timestamp } from '@meterkeep/service-runtime';
import { apiSchema } from '../openapi/schemas';

export const DecommissionViewSchema = apiSchema(
  'Decommission',
  z.object({
    decommissionId: z.string(),
    endpointName: z.string(),
    state: z
      .enum(['CONFIRMING', 'RECORDED'])
      .describe(
        'CONFIRMING while a step is not confirmed done (asked again, never assumed); RECORDED at the end',
      ),
    requestedBy: z.string(),
    requestedAt: timestamp,
    attempts: z.number().int().describe('How many times the steps were asked for'),
    nextAttemptAt: timestamp.nullable(),
    steps: z.array(
      z.object({
        service: z.enum(['bootstrap', 'ota-distributor', 'privacy']),
        outcome: z.enum(['awaiting', 'pending', 'failed', 'completed', 'not-applicable']),
        attempt: z.number().int().nullable(),
        detail: z.string().nullable(),
        confirmedAt: timestamp.nullable(),
      }),
    ),
    record: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe('The signed decommission record (ES256 over its RFC 8785 form without `signature`)'),
    recordDigest: z.string().nullable().describe('sha256:<hex> of the record, as on the audit chain'),
    auditSequence: z.number().int().nullable(),
    recordedAt: timestamp.nullable(),
  }),
);
export type DecommissionView = z.infer<typeof DecommissionViewSchema>;
