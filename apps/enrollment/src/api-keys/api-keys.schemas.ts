import { z } from 'zod';
import { apiKeyRole } from '@meterkeep/contracts';
import { timestamp } from '@meterkeep/service-runtime';
import { apiSchema } from '../openapi/schemas';

/** The roles introspection answers other services with (libs/contracts). */
export const roleSchema = apiKeyRole;

export const CreateApiKeyRequestSchema = apiSchema(
  'CreateApiKeyRequest',
  z.strictObject({
    role: roleSchema,
    name: z.string().min(1).max(100).optional().describe('What the key is for, e.g. "billing export"'),
  }),
  'input',
);
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequestSchema>;

export const ApiKeyViewSchema = apiSchema(
  'ApiKey',
  z.object({
    keyId: z.string(),
    role: roleSchema,
    name: z.string().nullable(),
    createdBy: z.string(),
    createdAt: timestamp,
    revokedAt: timestamp.nullable(),
  }),
);
export type ApiKeyView = z.infer<typeof ApiKeyViewSchema>;

export const CreatedApiKeyViewSchema = apiSchema(
  'CreatedApiKey',
  ApiKeyViewSchema.extend({
    apiKey: z.string().describe('mk_<keyId>_<secret>: shown this once, store it now; only its hash is kept'),
  }),
);
export type CreatedApiKeyView = z.infer<typeof CreatedApiKeyViewSchema>;

export const ApiKeyListSchema = apiSchema('ApiKeyList', z.object({ items: z.array(ApiKeyViewSchema) }));

export const KeyIdParam = z.string().regex(/^[a-z2-7]{12}$/, 'a 12-character key id');
