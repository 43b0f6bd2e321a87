import { z } from 'zod';
import {
  base64KeySchema,
  DEFAULT_PORTS,
  defaultInternalUrl,
  internalListenerEnv,
  internalUrlSchema,
  perServiceGrantsSchema,
  serviceIdentityEnv,
  kafkaEnv,
  postgresEnv,
  s3Env,
  serviceEnv,
} from '@meterkeep/config';
import { kekEpochEnv } from './key-epochs/kek-epochs.config';
import { releaseGateEnv } from './release/release.config';

export const DEFAULT_PORT = DEFAULT_PORTS.services.privacy;

/**
 * The master key-encryption key of the data-key vault: it unwraps the KEK epochs (key-epochs/), which
 * wrap the data keys (AES-256-GCM), and wraps directly only the keys made before epochs (epoch 0).
 * Losing it loses every reading's key; keep it in a secret store or KMS.
 */
export const privacyKekEnv = {
  PRIVACY_KEK: base64KeySchema('PRIVACY_KEK'),
  ...kekEpochEnv,
};

/** Tenant ids as enrollment makes them. */
const tenantId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/);

/**
 * Service to service, over mutual TLS with the platform CA: this service's identity and internal
 * listener (data keys: the ingest, and granted consumers), and enrollment's (API-key introspection).
 */
export const internalApiEnv = {
  ...serviceIdentityEnv,
  ...internalListenerEnv('privacy'),
  /** Where enrollment's internal routes answer (its internal listener, mutual TLS). */
  ENROLLMENT_INTERNAL_URL: internalUrlSchema.default(defaultInternalUrl('enrollment')),
  /**
   * Per decrypting consumer (the service name in its platform certificate), the tenants whose data
   * keys it may read one by one (DATA_KEY_GET); none by default. Every read and refusal is audited.
   */
  PRIVACY_DATA_KEY_GRANTS: perServiceGrantsSchema(tenantId, 'tenant id').default({}),
};

export const PrivacyConfig = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  ...postgresEnv,
  ...s3Env,
  ...privacyKekEnv,
  ...internalApiEnv,
  ...releaseGateEnv,
});
export type PrivacyConfig = z.infer<typeof PrivacyConfig>;

/** Every variable the config reads, for the start-up log (secrets masked there). */
export const PRIVACY_ENVIRONMENT = Object.keys(PrivacyConfig.shape);
