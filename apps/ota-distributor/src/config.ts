import { z } from 'zod';
import { hostname } from 'node:os';
import {
  OTA_DOWNLOAD_URL_REISSUE_SECONDS,
  OTA_DOWNLOAD_URL_TTL_SECONDS,
  OTA_IMAGE_BYTES_CEILING,
} from '@meterkeep/contracts';
import {
  DEFAULT_PORTS,
  defaultInternalUrl,
  deviceEdgeEnv,
  deviceEdgeRule,
  hostnameListSchema,
  internalUrlSchema,
  kafkaEnv,
  postgresEnv,
  s3Env,
  serviceEnv,
  serviceIdentityEnv,
} from '@meterkeep/config';

export const DEFAULT_PORT = DEFAULT_PORTS.services['ota-distributor'];
export const DEFAULT_TLS_PORT = DEFAULT_PORTS.deviceListeners['ota-distributor'];

const MIB = 1024 * 1024;

/**
 * Named points inside the campaigns' transactions where a crash test stops the process (each
 * reached with the transaction open, its events in the outbox uncommitted):
 * - `phase-advance`: a phase passed and the next opened (or the campaign completed);
 * - `halt`: an abort rule's crossing recorded, the campaign HALTED, its `halted` event written.
 */
export const TEST_PAUSE_POINTS = ['phase-advance', 'halt', 'planning'] as const;
export type TestPausePoint = (typeof TEST_PAUSE_POINTS)[number];

/**
 * Firmware images: where they live, how large a class's image may be unless the class says otherwise,
 * and how operators' presigned upload URLs are made.
 */
export const firmwareEnv = {
  /** The bucket of firmware images (content-addressed under tenants/<t>/firmware/...); made at start-up. */
  OTA_FIRMWARE_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name')
    .default('meterkeep-firmware'),
  /** A device class's image size cap when it names none; never above the contract's ceiling (1 GiB). */
  OTA_MAX_IMAGE_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .max(OTA_IMAGE_BYTES_CEILING)
    .default(32 * MIB),
  /** Life of a presigned part URL; 15 min by default, 1 min to 1 h (AWS IoT's presigned range). */
  OTA_UPLOAD_URL_EXPIRY_SECONDS: z.coerce.number().int().min(60).max(3_600).default(900),
  /** Bytes per uploaded part but the last: S3 needs at least 5 MiB; 8 MiB by default. */
  OTA_UPLOAD_PART_BYTES: z.coerce
    .number()
    .int()
    .min(5 * MIB)
    .max(512 * MIB)
    .default(8 * MIB),
};

/**
 * The device API: the directive key (its file, never its content, is configuration; the key is read and
 * checked once at start-up), how long a directive lives, how often meters poll and how long a presigned
 * download URL lives.
 */
export const deviceApiEnv = {
  /** PKCS#8 PEM P-256 private key the directives are signed with (spec §5.2). Required. */
  OTA_DIRECTIVE_KEY_FILE: z.string().min(1, 'the path of the directive key (PKCS#8 PEM, P-256)'),
  /** Life of a directive: 24 h by default (Uptane freeze defence), 5 min to 7 days. */
  OTA_DIRECTIVE_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(300)
    .max(7 * 24 * 3600)
    .default(24 * 3600),
  /** Base poll interval told to meters (±10% jitter); hawkBit's default of 5 min. */
  OTA_POLL_SECONDS: z.coerce
    .number()
    .int()
    .min(30)
    .max(7 * 24 * 3600)
    .default(300),
  /**
   * Meters' check-in views each replica keeps in memory (least recently used out first), so a 304
   * touches no database; 0 turns it off. Size it to the meters a replica serves: a meter polling less
   * often than the cache turns over never hits it. About 2 KiB each: 50,000 is ~100 MiB of the
   * 512 MiB the manifests allow.
   */
  OTA_CHECK_IN_CACHE_ENTRIES: z.coerce.number().int().min(0).max(10_000_000).default(50_000),
  /** Life of a presigned download URL (AWS's range, 60–3,600 s). */
  OTA_DOWNLOAD_URL_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(3_600)
    .default(OTA_DOWNLOAD_URL_TTL_SECONDS),
  /** A new download URL per execution and component at most this often. */
  OTA_DOWNLOAD_URL_REISSUE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3_600)
    .default(OTA_DOWNLOAD_URL_REISSUE_SECONDS),
};

/**
 * Operator API keys are enrollment's: this service asks its internal listener (mutual TLS with its
 * platform certificate) whose key a caller presented.
 */
export const operatorAuthEnv = {
  ...serviceIdentityEnv,
  ENROLLMENT_INTERNAL_URL: internalUrlSchema.default(defaultInternalUrl('enrollment')),
};

/**
 * The meters' listener (mutual TLS, operational certificates of the tenants' issuing CAs) and where
 * its server certificate comes from: as telemetry-ingest's.
 */
export const deviceListenerEnv = {
  /** The HTTPS (mutual TLS) listener for meters; 0 takes any free port (tests). */
  OTA_TLS_PORT: z.coerce.number().int().min(0).max(65_535).default(DEFAULT_TLS_PORT),
  /** Names in the listener's certificate, as meters reach it (the ingress' host name in a cluster). */
  OTA_TLS_HOSTNAMES: hostnameListSchema.default(['localhost', '127.0.0.1']),
  /** An externally issued server certificate (PEM, leaf first) and key; both or neither. */
  OTA_TLS_CERT_FILE: z.string().min(1).optional(),
  OTA_TLS_KEY_FILE: z.string().min(1).optional(),
  /** Without files, the server certificate is issued by bootstrap's internal route (the CA meters trust). */
  BOOTSTRAP_INTERNAL_URL: internalUrlSchema.default(defaultInternalUrl('bootstrap')),
  /** This replica's name in its device-directory consumer group (a pod name; the host name by default). */
  OTA_INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, '1-100 of A-Z a-z 0-9 . _ -')
    .default(
      hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 100) || 'ota-distributor',
    ),
  ...deviceEdgeEnv,
  /**
   * How often each replica runs the campaign ticker (scheduled starts, phase advance, admission,
   * cancellations); 0 turns it off. Replicas share the work: each campaign is locked SKIP LOCKED.
   */
  OTA_CAMPAIGN_TICK_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  /**
   * How long a start request waits for its campaign's plan before it answers 202 PLANNING (the plan
   * goes on; a million targets take minutes, past what an ingress lets a request live).
   */
  OTA_START_WAIT_MS: z.coerce.number().int().min(0).max(50_000).default(20_000),
  /**
   * Test-only: campaign transaction points where the process stops for a crash test's SIGKILL
   * (comma-separated names, see test-pause-points.ts). Refused under NODE_ENV=production.
   */
  OTA_TEST_PAUSE_AT: z
    .string()
    .transform((list) => list.split(',').filter(Boolean))
    .pipe(z.array(z.enum(TEST_PAUSE_POINTS)))
    .optional(),
  /** `production` in the service image: test-only settings are refused. */
  NODE_ENV: z.string().optional(),
};

export const OtaDistributorConfig = z
  .object({
    ...serviceEnv,
    ...kafkaEnv,
    ...postgresEnv,
    ...s3Env,
    ...firmwareEnv,
    ...operatorAuthEnv,
    ...deviceApiEnv,
    ...deviceListenerEnv,
  })
  .refine((env) => (env.OTA_TLS_CERT_FILE === undefined) === (env.OTA_TLS_KEY_FILE === undefined), {
    path: ['OTA_TLS_KEY_FILE'],
    message: 'OTA_TLS_CERT_FILE and OTA_TLS_KEY_FILE go together: set both or neither',
  })
  .refine(...deviceEdgeRule)
  .refine((env) => env.NODE_ENV !== 'production' || env.OTA_TEST_PAUSE_AT === undefined, {
    path: ['OTA_TEST_PAUSE_AT'],
    message: 'OTA_TEST_PAUSE_AT is test-only: refused under NODE_ENV=production',
  });
export type OtaDistributorConfig = z.infer<typeof OtaDistributorConfig>;

/** Every variable the config reads, for the start-up log (secrets masked there). */
export const OTA_DISTRIBUTOR_ENVIRONMENT = Object.keys(OtaDistributorConfig.shape);
