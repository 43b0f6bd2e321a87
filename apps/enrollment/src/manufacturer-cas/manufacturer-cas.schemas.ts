import { z } from 'zod';
import { timestamp } from '@meterkeep/service-runtime';
import { apiSchema } from '../openapi/schemas';

const certificatePem = z
  .string()
  .min(1)
  .max(16_384)
  .describe('One X.509 certificate, PEM (-----BEGIN CERTIFICATE-----)');

export const RegisterManufacturerCaRequestSchema = apiSchema(
  'RegisterManufacturerCaRequest',
  z.strictObject({
    certificatePem: certificatePem.describe('The manufacturer CA: ECDSA P-256, basicConstraints CA:true'),
  }),
  'input',
);
export type RegisterManufacturerCaRequest = z.infer<typeof RegisterManufacturerCaRequestSchema>;

export const VerifyManufacturerCaRequestSchema = apiSchema(
  'VerifyManufacturerCaRequest',
  z.strictObject({
    certificatePem: certificatePem.describe(
      'Proof of possession: a certificate signed by the CA, valid now, whose subject CN is the verification code',
    ),
  }),
  'input',
);
export type VerifyManufacturerCaRequest = z.infer<typeof VerifyManufacturerCaRequestSchema>;

export const caStatus = z.enum(['PENDING_VERIFICATION', 'TRUSTED', 'DISABLED']);

export const ManufacturerCaViewSchema = apiSchema(
  'ManufacturerCa',
  z.object({
    caId: z.string(),
    status: caStatus,
    fingerprintSha256: z.string(),
    subject: z.string(),
    notAfter: timestamp,
    verificationExpiresAt: timestamp.nullable(),
    createdAt: timestamp,
    verifiedAt: timestamp.nullable(),
    disabledAt: timestamp.nullable(),
  }),
);
export type ManufacturerCaView = z.infer<typeof ManufacturerCaViewSchema>;

export const RegisteredManufacturerCaViewSchema = apiSchema(
  'RegisteredManufacturerCa',
  ManufacturerCaViewSchema.extend({
    verificationCode: z
      .string()
      .describe('32 hex characters: have the CA sign a certificate with this CN, valid for one hour'),
  }),
);
export type RegisteredManufacturerCaView = z.infer<typeof RegisteredManufacturerCaViewSchema>;

export const ManufacturerCaListSchema = apiSchema(
  'ManufacturerCaList',
  z.object({ items: z.array(ManufacturerCaViewSchema) }),
);

export const CaIdParam = z.uuid();
