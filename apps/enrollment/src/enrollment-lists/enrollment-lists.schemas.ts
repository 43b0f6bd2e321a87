import { z } from 'zod';
import { timestamp } from '@meterkeep/service-runtime';
import { apiSchema } from '../openapi/schemas';

export const RejectedRowSchema = z.object({ line: z.number().int(), reason: z.string() });
export type RejectedRow = z.infer<typeof RejectedRowSchema>;

export const UploadReportSchema = apiSchema(
  'EnrollmentListReport',
  z.object({
    uploadId: z.uuid(),
    format: z.enum(['csv', 'ndjson']),
    accepted: z.number().int().describe('Rows that enrolled a meter or changed its enrollment'),
    unchanged: z.number().int().describe('Rows already enrolled exactly so by this tenant (re-upload)'),
    rejected: z.number().int(),
    rejectedRows: z
      .array(RejectedRowSchema)
      .describe('The first rejected rows by line number, with the reason'),
    rejectedRowsTruncated: z.boolean().describe('More rows were rejected than rejectedRows lists'),
    startedAt: timestamp,
    finishedAt: timestamp,
  }),
);
export type UploadReport = z.infer<typeof UploadReportSchema>;

export const UploadIdParam = z.uuid();
