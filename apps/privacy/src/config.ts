import { z } from 'zod';
import {
  base64KeySchema,
  DEFAULT_PORTS,
  defaultServiceUrl,
  httpUrlSchema,
  internalApiTokenSchema,
  kafkaEnv,
  postgresEnv,
  s3Env,
  serviceEnv,
} from '@meterkeep/config';

export const DEFAULT_PORT = DEFAULT_PORTS.services.privacy;

/**
 * The key-encryption key of the data-key vault: every data key is stored wrapped under it
 * (AES-256-GCM). Losing it loses every reading's key; keep it in a secret store or KMS.
 */
export const privacyKekEnv = {
  PRIVACY_KEK: base64KeySchema('PRIVACY_KEK'),
};

/**
 * The shared secret of internal service-to-service routes (x-internal-token), both ways: privacy sends
 * it to enrollment's API-key introspection, and ingest sends it to privacy's data-key routes.
 */
export const internalApiEnv = {
  INTERNAL_API_TOKEN: internalApiTokenSchema,
  /** Where enrollment's internal routes answer (cluster-internal, plain HTTP). */
  ENROLLMENT_INTERNAL_URL: httpUrlSchema.default(defaultServiceUrl('enrollment')),
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

/** Every variable the config reads, for the start-up log (secrets masked there). */
export const PRIVACY_ENVIRONMENT = Object.keys(PrivacyConfig.shape);
