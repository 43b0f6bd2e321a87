import { z } from 'zod';
import { timestamp } from '@meterkeep/service-runtime';
import { apiSchema } from '../openapi/schemas';

export const DestroyedDataKeySchema = apiSchema(
  'DestroyedDataKey',
  z.object({ keyId: z.string(), destroyedAt: timestamp }),
);
export type DestroyedDataKey = z.infer<typeof DestroyedDataKeySchema>;
