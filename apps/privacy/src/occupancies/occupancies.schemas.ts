import { z } from 'zod';
import { privacyOccupancyEvent } from '@meterkeep/contracts';
import { timestamp } from '@meterkeep/service-runtime';
import { CONSUMER_CLASSES } from '../consents/policy';
import { apiSchema } from '../openapi/schemas';

export const MeterIdSchema = privacyOccupancyEvent.shape.meterId;
export const OccupancyIdParam = z.string().regex(/^occ-[0-9a-f-]{36}$/, 'occupancy id');

const instant = z.iso.datetime({ offset: true }).transform((value) => new Date(value));

export const OpenOccupancyRequestSchema = apiSchema(
  'OpenOccupancyRequest',
  z.strictObject({
    meterId: MeterIdSchema.describe("The meter's endpoint name"),
    subjectRef: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
      .describe(
        "The utility's opaque reference to the household (never a name); not put on Kafka or in logs",
      ),
    from: instant.describe('When the occupancy starts (ISO 8601); it stays open until closed'),
    consumerClass: z
      .enum(CONSUMER_CLASSES)
      .default('domestic')
      .describe("Settlement's basis depends on it (GB: microbusinesses have no opt-out)"),
    contractDate: z.iso
      .date()
      .transform((value) => new Date(`${value}T00:00:00.000Z`))
      .optional()
      .describe('When the supply contract was made (YYYY-MM-DD); unknown reads as a new contract'),
  }),
  'input',
);
export type OpenOccupancyRequest = z.infer<typeof OpenOccupancyRequestSchema>;

export const CloseOccupancyRequestSchema = apiSchema(
  'CloseOccupancyRequest',
  z.strictObject({ to: instant.describe('When the occupancy ends (exclusive); after its start') }),
  'input',
);
export type CloseOccupancyRequest = z.infer<typeof CloseOccupancyRequestSchema>;

export const OccupancyViewSchema = apiSchema(
  'Occupancy',
  z.object({
    occupancyId: z.string(),
    meterId: z.string(),
    subjectRef: z.string(),
    from: timestamp,
    to: timestamp.nullable().describe('Exclusive; null while the occupancy is open'),
    keyId: z.string().describe("The id of the occupancy's data key"),
    consumerClass: z.enum(CONSUMER_CLASSES),
    contractDate: z.iso.date().nullable(),
  }),
);
export type OccupancyView = z.infer<typeof OccupancyViewSchema>;

export const OccupancyPageSchema = apiSchema(
  'OccupancyPage',
  z.object({
    items: z.array(OccupancyViewSchema),
    nextCursor: z.string().nullable().describe('Pass as ?cursor= for the next page; null on the last page'),
  }),
);
export type OccupancyPage = z.infer<typeof OccupancyPageSchema>;

export const ListOccupanciesQuerySchema = z.strictObject({
  meterId: MeterIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional(),
});
export type ListOccupanciesQuery = z.infer<typeof ListOccupanciesQuerySchema>;
