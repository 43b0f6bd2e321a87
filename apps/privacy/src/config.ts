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
import { changeOfTenancyEnv } from './reseal/reseal.config';

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

/** The platform's services, as they name themselves on privacy.confirmations.v1. */
const confirmer = z.enum(['enrollment', 'bootstrap', 'telemetry-ingest', 'ota-distributor', 'privacy']);

/** Erasure sagas (erasures/): their certificate key, who must confirm, how missing answers are retried. */
export const erasureEnv = {
  /**
   * The erasure certificates' signing key (PEM, ECDSA P-256), a mounted file; certificates are ES256
   * over RFC 8785 JSON. Without it erasures run to CONFIRMING and fail there (retry once it is set).
   */
  PRIVACY_CERTIFICATE_KEY_FILE: z.string().min(1).optional(),
  /** The services whose confirmation an erasure waits for (comma-separated); never assumed. */
  PRIVACY_ERASURE_CONFIRMERS: z
    .string()
    .default('privacy,telemetry-ingest,enrollment,bootstrap,ota-distributor')
    .transform((value) =>
      value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(confirmer).min(1)),
  /** First wait before a missing confirmation is asked for again (doubling, at most 60 s). */
  PRIVACY_ERASURE_RETRY_MS: z.coerce.number().int().min(50).max(60_000).default(2_000),
  /** The ingest's TELEMETRY_KEY_CACHE_TTL_S, stated in certificates as a residual copy's lifetime. */
  PRIVACY_INGEST_KEY_CACHE_TTL_S: z.coerce.number().int().min(1).max(3_600).default(60),
  /** How often retention keys past their date are destroyed; 0 turns the sweep off. */
  PRIVACY_RETENTION_CHECK_INTERVAL_S: z.coerce.number().int().min(0).max(86_400).default(3_600),
};

/** Subject access exports (exports/): where archives live, how long their links last, how often the job looks. */
export const exportEnv = {
  /** The bucket of sealed export archives (made at first use); each object is deleted when its link expires. */
  PRIVACY_EXPORT_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name')
    .default('meterkeep-privacy-exports'),
  /** How long a ready export's link (and archive) lasts unless the request says otherwise: 5 min to 7 days. */
  PRIVACY_EXPORT_LINK_TTL_S: z.coerce.number().int().min(300).max(604_800).default(86_400),
  /** How often each replica looks for export work and expired archives. */
  PRIVACY_EXPORT_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(2_000),
};

export const PrivacyConfig = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  ...postgresEnv,
  ...s3Env,
  ...privacyKekEnv,
  ...internalApiEnv,
  ...releaseGateEnv,
  ...erasureEnv,
  ...changeOfTenancyEnv,
  ...exportEnv,
});
export type PrivacyConfig = z.infer<typeof PrivacyConfig>;

/** Every variable the config reads, for the start-up log (secrets masked there). */
export const PRIVACY_ENVIRONMENT = Object.keys(PrivacyConfig.shape);
