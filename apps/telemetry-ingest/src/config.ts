import { hostname } from 'node:os';
import { z } from 'zod';
import {
  DEFAULT_PORTS,
  defaultInternalUrl,
  deviceEdgeEnv,
  deviceEdgeRule,
  hostnameListSchema,
  internalUrlSchema,
  serviceIdentityEnv,
  kafkaEnv,
  redisEnv,
  serviceEnv,
} from '@meterkeep/config';

export const DEFAULT_PORT = DEFAULT_PORTS.services['telemetry-ingest'];
export const DEFAULT_TLS_PORT = DEFAULT_PORTS.deviceListeners['telemetry-ingest'];

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** The device-facing listener and where its server certificate comes from. */
const deviceApi = {
  /** The HTTPS (mutual TLS) listener for meters and gateways; 0 takes any free port (tests). */
  TELEMETRY_TLS_PORT: int(0, 65_535, DEFAULT_TLS_PORT),
  /** Names in the listener's certificate, as meters reach it (the ingress' host name in a cluster). */
  TELEMETRY_TLS_HOSTNAMES: hostnameListSchema.default(['localhost', '127.0.0.1']),
  /** An externally issued server certificate (PEM, leaf first) and key; both or neither. */
  TELEMETRY_TLS_CERT_FILE: z.string().min(1).optional(),
  TELEMETRY_TLS_KEY_FILE: z.string().min(1).optional(),
  /** Without files, the server certificate is issued by bootstrap's internal route (the CA meters trust). */
  BOOTSTRAP_INTERNAL_URL: internalUrlSchema.default(defaultInternalUrl('bootstrap')),
};

/** Service-to-service over mutual TLS: this service's identity, and the data-key vault's address. */
const internalApi = {
  ...serviceIdentityEnv,
  PRIVACY_INTERNAL_URL: internalUrlSchema.default(defaultInternalUrl('privacy')),
};

const ingest = {
  /**
   * This replica's stable id: its Kafka transactional id, so a restarted replica fences its previous
   * self. A StatefulSet pod name; the host name by default.
   */
  TELEMETRY_INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, '1-100 of A-Z a-z 0-9 . _ -')
    .default(defaultInstanceId()),
  /**
   * Worker processes sharing this replica's ports (node:cluster), each with its own transactional id
   * `<instance>-w<n>`: one Node process uses one core, so set it to the pod's CPUs. 1: no workers.
   */
  TELEMETRY_WORKERS: int(1, 64, 1),
  /** Items of batches in progress, at most; past it, 503 with Retry-After (memory stays bounded). */
  TELEMETRY_MAX_IN_FLIGHT_READINGS: int(1_000, 10_000_000, 200_000),
  /** Request bytes of batches in progress, at most. */
  TELEMETRY_MAX_IN_FLIGHT_BYTES: int(1_048_576, 4_294_967_296, 128 * 1_048_576),
  /** Request bytes of one sender's batches in progress (two full batches by default). */
  TELEMETRY_MAX_IN_FLIGHT_BYTES_PER_SENDER: int(524_288, 1_073_741_824, 1_048_576),
  /** Request bytes of batches in progress from one source address (an IPv6 /64 counts as one). */
  TELEMETRY_MAX_IN_FLIGHT_BYTES_PER_SOURCE: int(524_288, 4_294_967_296, 32 * 1_048_576),
  /** How long an admitted batch's body may take to arrive; past it, 503 INGEST_SATURATED. */
  TELEMETRY_BODY_TIMEOUT_MS: int(1_000, 300_000, 30_000),
  /** How long replays are recognised, in ms; readings older than this are refused (TIME_TOO_OLD). */
  TELEMETRY_DEDUPE_WINDOW_MS: int(3_600_000, 400 * 86_400_000, 7 * 86_400_000),
  /**
   * Distinct OBIS codes one meter may report within the de-duplication window; readings of a further
   * code are refused (OBIS_LIMIT_REACHED). Bounds what a meter can make Redis hold.
   */
  TELEMETRY_MAX_OBIS_PER_METER: int(1, 10_000, 64),
  /** How far in the future a reading may end (meter clock drift), in ms. */
  TELEMETRY_MAX_CLOCK_SKEW_MS: int(0, 3_600_000, 5 * 60_000),
  /** The broker aborts a transaction open longer than this. */
  TELEMETRY_TRANSACTION_TIMEOUT_MS: int(1_000, 900_000, 10_000),
  /** A meter's write lock outlives any transaction: a dead writer's batch is aborted before another may write. */
  TELEMETRY_LOCK_TTL_MS: int(2_000, 900_000, 30_000),
  TELEMETRY_KEY_CACHE_TTL_S: int(1, 3_600, 60),
  TELEMETRY_KEY_CACHE_MAX: int(100, 10_000_000, 100_000),
};

/** The host name, as a transactional id may spell it. */
export function defaultInstanceId(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 100) || 'telemetry-ingest'
  );
}

export const TelemetryIngestConfig = z
  .object({
    ...serviceEnv,
    ...kafkaEnv,
    ...redisEnv,
    ...internalApi,
    ...deviceApi,
    ...deviceEdgeEnv,
    ...ingest,
  })
  .refine(
    (env) => (env.TELEMETRY_TLS_CERT_FILE === undefined) === (env.TELEMETRY_TLS_KEY_FILE === undefined),
    {
      path: ['TELEMETRY_TLS_KEY_FILE'],
      message: 'TELEMETRY_TLS_CERT_FILE and TELEMETRY_TLS_KEY_FILE go together: set both or neither',
    },
  )
  .refine(...deviceEdgeRule)
  .refine((env) => env.TELEMETRY_LOCK_TTL_MS > 2 * env.TELEMETRY_TRANSACTION_TIMEOUT_MS, {
    path: ['TELEMETRY_LOCK_TTL_MS'],
    message: 'must be more than twice TELEMETRY_TRANSACTION_TIMEOUT_MS',
  });
export type TelemetryIngestConfig = z.infer<typeof TelemetryIngestConfig>;

/** Every variable the config reads, for the start-up log (secrets masked there). */
export const TELEMETRY_INGEST_ENVIRONMENT = Object.keys(TelemetryIngestConfig.shape);
