import { z } from 'zod';
import { hostnameSchema } from '@meterkeep/config';

export const ServerCertificateRequestSchema = z.strictObject({
  csrPem: z
    .string()
    .max(8_192)
    .regex(/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/, 'a PEM certificate request')
    .describe('PKCS#10 request for the server’s P-256 key (its subject is ignored)'),
  hostnames: z
    .array(hostnameSchema)
    .min(1)
    .max(20)
    .refine((names) => new Set(names).size === names.length, 'hostnames must not repeat')
    .describe('DNS names and IP addresses the certificate names (the first is also its CN)'),
});
export type ServerCertificateRequest = z.infer<typeof ServerCertificateRequestSchema>;

export const ServerCertificateAnswerSchema = z.object({
  certificatePem: z.string().describe('Server certificate (profile server: serverAuth), PEM'),
  chainPem: z
    .array(z.string())
    .describe('The platform server CA, PEM: the CA meters trust servers by (the end of the chain)'),
  notAfter: z.iso.datetime(),
});
export type ServerCertificateAnswer = z.infer<typeof ServerCertificateAnswerSchema>;
