import { z } from 'zod';
import { kafkaEnv, postgresEnv, s3Env, serviceEnv } from '@meterkeep/config';

export const DEFAULT_PORT = 3005;

const base64Key = (what: string) =>
  z.string().transform((value, context) => {
    const key = Buffer.from(value, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || key.length !== 32) {
      context.addIssue({
        code: 'custom',
        message: `${what}: 32 bytes, base64-encoded (openssl rand -base64 32)`,
      });
      return z.NEVER;
    }
    return key;
  });

const httpUri = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

/**
 * The key-encryption key of the data-key vault: every data key is stored wrapped under it
 * (AES-256-GCM). Losing it loses every reading's key; keep it in a secret store or KMS.
 */
export const privacyKekEnv = {
  PRIVACY_KEK: base64Key('PRIVACY_KEK'),
};

/**
 * The shared secret of internal service-to-service routes (x-internal-token), both ways: privacy sends
 * it to enrollment's API-key introspection, and ingest sends it to privacy's data-key routes.
 */
export const internalApiEnv = {
  INTERNAL_API_TOKEN: z.string().min(32, 'must be at least 32 characters (openssl rand -base64 32)'),
  /** Where enrollment's internal routes answer (cluster-internal, plain HTTP). */
  ENROLLMENT_INTERNAL_URL: httpUri.default('http://127.0.0.1:3001'),
};

export const PrivacyConfig = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  ...postgresEnv,
  ...s3Env,
  ...privacyKekEnv,
  ...internalApiEnv,
});
export type PrivacyConfig = z.infer<typeof PrivacyConfig>;
