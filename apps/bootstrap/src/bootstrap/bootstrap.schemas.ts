import { z } from 'zod';
import { endpointNameSchema } from './endpoint-name';

const csrPem = z
  .string()
  .max(8_192)
  .regex(/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/, 'a PEM certificate request')
  .describe('PKCS#10 request for a new P-256 key; subject CN = the endpoint name');
const pskIdentity = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, '1-128 printable ASCII characters without spaces');

export const CertificateRequestSchema = z.strictObject({ csrPem });
export type CertificateRequest = z.infer<typeof CertificateRequestSchema>;

export const NonceRequestSchema = z.strictObject({ pskIdentity });
export type NonceRequest = z.infer<typeof NonceRequestSchema>;

export const PskBootstrapRequestSchema = z.strictObject({
  pskIdentity,
  nonce: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a nonce from /bs/v1/psk/nonce'),
  csrPem,
  proof: z
    .string()
    .regex(/^[A-Za-z0-9+/]{43}=$/, 'base64 of an HMAC-SHA256')
    .describe('base64(HMAC-SHA256(psk, utf8(nonce) || 0x00 || sha256(csrDer)))'),
});
export type PskBootstrapRequest = z.infer<typeof PskBootstrapRequestSchema>;

export const BootstrapAnswerSchema = z.object({
  endpointName: endpointNameSchema,
  tenantId: z.string(),
  certificatePem: z
    .string()
    .describe('Operational certificate (profile operational-device, CN = endpoint name)'),
  chainPem: z.array(z.string()).describe('Tenant issuing CA first, up to the operational root'),
  serverTime: z.iso.datetime(),
  renewal: z.object({ notAfter: z.iso.datetime(), renewAfter: z.iso.datetime() }),
  servers: z.object({
    telemetry: z.object({ uri: z.string() }),
    ota: z.object({ uri: z.string() }),
    bootstrap: z.object({ uri: z.string() }),
  }),

  serverTrustAnchorsPem: z
    .array(z.string())
    .describe(
      'The platform server CA(s), PEM: what the operational servers’ (telemetry, OTA) certificates chain to',
    ),
});
export type BootstrapAnswer = z.infer<typeof BootstrapAnswerSchema>;
