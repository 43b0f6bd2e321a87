import { z } from 'zod';
import { privacyOccupancyEvent } from '@meterkeep/contracts';
import { timestamp } from '@meterkeep/service-runtime';
import { apiSchema } from '../openapi/schemas';

export const KeyIdParam = z.string().regex(/^dk-[0-9a-f-]{36}$/, 'data key id');
/** Tenant ids as enrollment makes them. */
export const TenantIdParam = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'tenant id');
export const MeterIdParam = privacyOccupancyEvent.shape.meterId;

export const DestroyedDataKeySchema = apiSchema(
  'DestroyedDataKey',
  z.object({ keyId: z.string(), destroyedAt: timestamp }),
);
export type DestroyedDataKey = z.infer<typeof DestroyedDataKeySchema>;

const base64Key = z.base64().describe('The 32-byte AES-256 data key, base64');

export const MeterDataKeysSchema = apiSchema(
  'MeterDataKeys',
  z.object({
    tenantId: z.string(),
    meterId: z.string(),
    occupancies: z
      .array(
        z.object({
          occupancyId: z.string(),
          keyId: z.string(),
          from: timestamp,
          to: timestamp.nullable().describe('Exclusive; null while open'),
          key: base64Key.optional().describe('Absent when destroyed'),
          destroyed: z.boolean().describe("Destroyed: refuse readings of this occupancy's period"),
        }),
      )
      .describe('In time order; the one whose [from, to) covers a reading time encrypts it'),
    meterKey: z
      .object({ keyId: z.string(), key: base64Key })
      .describe('For reading times no occupancy covers; made on first request'),
  }),
);
export type MeterDataKeys = z.infer<typeof MeterDataKeysSchema>;

export const DataKeySchema = apiSchema(
  'DataKey',
  z.object({
    keyId: z.string(),
    meterId: z.string(),
    occupancyId: z.string().nullable().describe("Null for the meter's own key"),
    key: base64Key,
  }),
);
export type DataKey = z.infer<typeof DataKeySchema>;
