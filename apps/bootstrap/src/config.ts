import { z } from 'zod';
import {
  base64KeySchema,
  DEFAULT_PORTS,
  defaultDeviceUri,
  defaultInternalUrl,
  deviceEdgeEnv,
  deviceEdgeRule,
  hostnameListSchema,
  hostnameSchema,
  httpsUrlSchema,
  internalListenerEnv,
  internalUrlSchema,
  perServiceGrantsSchema,
  serviceIdentityEnv,
  kafkaEnv,
  postgresEnv,
  redisEnv,
  serviceEnv,
} from '@meterkeep/config';
import { parseDuration } from './core/duration';

export const DEFAULT_PORT = DEFAULT_PORTS.services.bootstrap;
export const DEFAULT_TLS_PORT = DEFAULT_PORTS.deviceListeners.bootstrap;

const duration = (min: number, max: number) =>
  z.string().transform((value, context) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms < min || ms > max) {
      context.addIssue({
        code: 'custom',
        message: 'must be a whole number with a unit s, m, h or d (such as 7d), between 5m and 365d',
      });
      return z.NEVER;
    }
    return ms;
  });

const perMinute = (fallback: number) => z.coerce.number().int().min(1).max(1_000_000).default(fallback);

/** The key under which bootstrap seals its CAs' private keys in PostgreSQL (AES-256-GCM). */
export const bootstrapKekEnv = {
  BOOTSTRAP_KEK: base64KeySchema('BOOTSTRAP_KEK'),
};

/**
 * Service to service, over mutual TLS with the platform CA: this service's identity, its internal
 * listener (server certificates for other services), and enrollment's (PSK proofs).
 */
export const internalApiEnv = {
  ...serviceIdentityEnv,
  ...internalListenerEnv('bootstrap'),
  /** Where enrollment's internal routes answer (its internal listener, mutual TLS). */
  ENROLLMENT_INTERNAL_URL: internalUrlSchema.default(defaultInternalUrl('enrollment')),
  /**
   * Per calling service, the host names its server certificates may name (JSON); any other is 403
   * HOSTNAME_NOT_ALLOWED. The default fits this machine; a cluster names the ingress host names.
   */
  BOOTSTRAP_SERVER_CERT_HOSTNAMES: perServiceGrantsSchema(hostnameSchema, 'host name').default({
    'telemetry-ingest': ['localhost', '127.0.0.1'],
    'ota-distributor': ['localhost', '127.0.0.1'],
  }),
};

/** The device-facing side: TLS listener, certificates issued, what the bootstrap answer points to. */
const deviceApi = {
  /** The HTTPS (mutual TLS) listener for meters; 0 takes any free port (tests). */
  BOOTSTRAP_TLS_PORT: z.coerce.number().int().min(0).max(65_535).default(DEFAULT_TLS_PORT),
  /** DNS names and IP addresses in the device listener's server certificate. */
  BOOTSTRAP_TLS_HOSTNAMES: hostnameListSchema.default(['localhost', '127.0.0.1']),
  /** An externally issued server certificate (PEM, leaf first) and key; both or neither. */
  BOOTSTRAP_TLS_CERT_FILE: z.string().min(1).optional(),
  BOOTSTRAP_TLS_KEY_FILE: z.string().min(1).optional(),
  /** Validity of an operational certificate. */
  BOOTSTRAP_CERT_VALIDITY: duration(5 * 60_000, 365 * 86_400_000).default(7 * 86_400_000),
  BOOTSTRAP_TELEMETRY_URI: httpsUrlSchema.default(defaultDeviceUri('telemetry-ingest')),
  BOOTSTRAP_OTA_URI: httpsUrlSchema.default(defaultDeviceUri('ota-distributor')),
  /**
   * The OTA distributor's directive public key(s), PEM (one, or two during a rotation, the current
   * first), handed to meters in every answer (servers.ota.directivePublicKeysPem). Read and checked
   * at start-up (directivePublicKeysOf): P-256 SPKI only. Without it, answers carry no directive keys.
   */
  OTA_DIRECTIVE_PUBLIC_KEYS_FILE: z.string().min(1).optional(),
  /** Where meters come back to renew: this service's device listener as meters reach it. */
  BOOTSTRAP_PUBLIC_URI: httpsUrlSchema.default(defaultDeviceUri('bootstrap')),
  /** Bootstrap, renewal and nonce requests per meter (endpoint or PSK identity) and minute. */
  BOOTSTRAP_RATE_LIMIT_PER_METER: perMinute(10),
  /** Requests per source address and minute: generous, as gateways and NAT put many meters behind one. */
  BOOTSTRAP_RATE_LIMIT_PER_SOURCE: perMinute(600),
  /** Bootstraps of a meter already ACTIVE (it lost its operational credential) per meter and hour. */
  BOOTSTRAP_REBOOTSTRAP_PER_HOUR: z.coerce.number().int().min(1).max(1_000).default(3),
  /** Retry-After (seconds) of a 503 NOT_YET_KNOWN once the read model has caught up. */
  BOOTSTRAP_NOT_KNOWN_RETRY_AFTER_S: z.coerce.number().int().min(1).max(3_600).default(10),
};

export const BootstrapConfig = z
  .object({
    ...serviceEnv,
    ...kafkaEnv,
    ...postgresEnv,
    ...redisEnv,
    ...bootstrapKekEnv,
    ...internalApiEnv,
    ...deviceApi,
    ...deviceEdgeEnv,
  })
  .refine(...deviceEdgeRule)
  .refine(
    (env) => (env.BOOTSTRAP_TLS_CERT_FILE === undefined) === (env.BOOTSTRAP_TLS_KEY_FILE === undefined),
    {
      path: ['BOOTSTRAP_TLS_KEY_FILE'],
      message: 'BOOTSTRAP_TLS_CERT_FILE and BOOTSTRAP_TLS_KEY_FILE go together: set both or neither',
    },
  );
export type BootstrapConfig = z.infer<typeof BootstrapConfig>;

/** Every variable the config reads, for the start-up log (secrets masked there). */
export const BOOTSTRAP_ENVIRONMENT = Object.keys(BootstrapConfig.shape);
