import { z } from 'zod';
import { consentPurpose, consentRecipient } from '@meterkeep/contracts';
import { timestamp } from '@meterkeep/service-runtime';
import { apiSchema } from '../openapi/schemas';
import { CONSENT_BASES, CONSENT_STATUSES, GRANULARITIES } from './policy';

const instant = z.iso.datetime({ offset: true }).transform((value) => new Date(value));

/**
 * Opaque evidence of the change: channel, script id and version, SHA-256 of the text the customer saw,
 * e.g. `web:hh-optin/v3/sha256:<64 hex>`. Never a name, address or recording: the pattern leaves no
 * room for one (the same pattern is checked by the consents table).
 */
export const EVIDENCE_REF =
  /^(web|app|phone|letter|in-person|api|in-home-display):[a-z0-9][a-z0-9._-]{0,63}\/v[0-9]{1,6}\/sha256:[0-9a-f]{64}$/;
const evidenceRef = z
  .string()
  .max(200)
  .regex(EVIDENCE_REF, 'evidence reference: <channel>:<script>/v<version>/sha256:<hex of the text shown>')
  .describe("Opaque: `<channel>:<script>/v<version>/sha256:<64 hex>`; never a person's details");

const target = {
  purpose: consentPurpose.describe(
    'A purpose of the policy: billing, supplier-insights, marketing, settlement, …',
  ),
  recipient: consentRecipient.describe('supplier, dno or third-party:<id>'),
  evidenceRef,
};

export const ConsentChangeRequestSchema = apiSchema(
  'ConsentChangeRequest',
  z.discriminatedUnion('action', [
    z.strictObject({
      action: z.literal('grant'),
      ...target,
      granularity: z.enum(['monthly', 'daily', 'half-hourly']),
      basis: z.enum(CONSENT_BASES),
      effectiveFrom: instant.optional().describe('Defaults to now; never in the past'),
      effectiveTo: instant
        .optional()
        .describe('Exclusive end of the prospective period (required for third parties)'),
      historicalFrom: instant.optional().describe('Third parties: how far back the grant reaches'),
      noticeSentAt: instant.optional().describe('Opt-out defaults: when the customer was told'),
    }),
    z.strictObject({ action: z.literal('withdraw'), ...target }),
    z.strictObject({ action: z.literal('opt-out'), ...target }),
  ]),
  'input',
);
export type ConsentChangeBody = z.infer<typeof ConsentChangeRequestSchema>;

export const AsOfQuerySchema = z.strictObject({
  asOf: instant.optional().describe('ISO 8601; now by default'),
});
export type AsOfQuery = z.infer<typeof AsOfQuerySchema>;

export const ConsentEntrySchema = apiSchema(
  'ConsentEntry',
  z.object({
    consentId: z.string(),
    occupancyId: z.string(),
    purpose: z.string(),
    recipient: z.string(),
    granularity: z.enum(GRANULARITIES),
    basis: z.enum(CONSENT_BASES),
    status: z.enum(CONSENT_STATUSES),
    effectiveFrom: timestamp,
    effectiveTo: timestamp.nullable(),
    historicalFrom: timestamp.nullable(),
    noticeSentAt: timestamp.nullable(),
    evidenceRef: z.string(),
    actor: z.string(),
    policy: z.string().describe('The policy the entry was decided under, as id@version'),
    version: z.int(),
    recordedAt: timestamp,
  }),
);
export type ConsentEntryView = z.infer<typeof ConsentEntrySchema>;

export const ConsentLedgerSchema = apiSchema(
  'ConsentLedger',
  z.object({
    occupancyId: z.string(),
    asOf: timestamp,
    entries: z.array(ConsentEntrySchema).describe('Recorded by asOf, oldest first'),
  }),
);
export type ConsentLedgerView = z.infer<typeof ConsentLedgerSchema>;

export const ConsentPermissionsSchema = apiSchema(
  'ConsentPermissions',
  z.object({
    occupancyId: z.string(),
    asOf: timestamp,
    policy: z.string(),
    permissions: z.array(
      z.object({ purpose: z.string(), recipient: z.string(), granularity: z.enum(GRANULARITIES) }),
    ),
  }),
);
export type ConsentPermissionsView = z.infer<typeof ConsentPermissionsSchema>;
