import { z } from 'zod';
import { timestamp } from '@meterkeep/service-runtime';
import { apiSchema } from '../openapi/schemas';

export const ExportIdParam = z.string().regex(/^ex-[0-9a-f-]{36}$/, 'export id');

export const RequestExportSchema = apiSchema(
  'RequestExport',
  z.strictObject({
    occupancyIds: z
      .array(z.string().min(1).max(128))
      .min(1)
      .max(100)
      .optional()
      .describe("Only these of the subject's occupancies; all of them when absent"),
    linkTtlSeconds: z
      .number()
      .int()
      .min(300)
      .max(604_800)
      .optional()
      .describe('How long the link (and the archive) lasts once ready; PRIVACY_EXPORT_LINK_TTL_S if absent'),
  }),
  'input',
);
export type RequestExportBody = z.infer<typeof RequestExportSchema>;

export const EXPORT_STATES = ['REQUESTED', 'RUNNING', 'READY', 'FAILED', 'EXPIRED'] as const;

export const ExportViewSchema = apiSchema(
  'Export',
  z.object({
    exportId: z.string(),
    subjectRef: z.string(),
    state: z.enum(EXPORT_STATES),
    occupancyIds: z.array(z.string()),
    requestedAt: timestamp,
    readyAt: timestamp.nullable(),
    expiresAt: timestamp.nullable().describe('When the link lapses and the archive is deleted'),
    error: z.string().nullable(),
    summary: z
      .object({
        readings: z.number().int(),
        consents: z.number().int(),
        releases: z.number().int(),
        recordsOwn: z.number().int().describe("The subject's meters' records the index pointed at"),
        recordsFetched: z.number().int().describe('Records read from Kafka to find them'),
        recordsUnreadable: z.number().int().describe('Records under a destroyed key (erased), left out'),
        archiveBytes: z.number().int(),
        archiveSha256: z.string(),
      })
      .nullable(),
    download: z
      .object({
        url: z.string().describe('Presigned S3 GET of the sealed archive; lapses at expiresAt'),
        archiveKey: z.string().describe('The one-time AES-256-GCM key (base64); admins only, never logged'),
        encryption: z.literal('MKX1: "MKX1" | IV (12) | GCM tag (16) | ciphertext; AAD = exportId'),
      })
      .nullable()
      .describe('Present while READY, for admins: the link and the key that opens the archive'),
  }),
);
export type ExportView = z.infer<typeof ExportViewSchema>;
