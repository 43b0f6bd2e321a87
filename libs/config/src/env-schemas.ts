import { z } from 'zod';
import { commaListSchema } from './value-schemas';

/** Building blocks for service config schemas; keys are environment variable names. */

const port = z.coerce.number().int().min(1).max(65_535);
const booleanFlag = z.enum(['true', 'false']).transform((v) => v === 'true');

/** A file's path, such as a mounted Secret's; read at start-up (see connection-security.ts). */
const filePath = z.string().min(1).max(4_096);
const brokerList = commaListSchema(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker must be host:port'));

export const serviceEnv = {
  PORT: port.optional(),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How long a SIGTERM waits for in-flight work before giving up. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
};

export const kafkaEnv = {
  KAFKA_BROKERS: brokerList,
  KAFKA_CLIENT_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .optional(),
  /** Topics are created at start-up with this replication factor (3 in production clusters). */
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(10).default(1),
  /**
   * Create missing topics at start-up (dev). Under ACLs a service's principal may not create topics:
   * then it only checks that they exist (the admin job creates them), and a missing one stops start-up.
   */
  KAFKA_ENSURE_TOPICS: booleanFlag.default(true),
  /** TLS to the brokers; on by itself when a KAFKA_SSL_* file is set (system CAs unless KAFKA_SSL_CA_FILE). */
  KAFKA_SSL: booleanFlag.optional(),
  /** PEM file of the CA(s) the brokers' certificates chain to. */
  KAFKA_SSL_CA_FILE: filePath.optional(),
  /** Mutual TLS instead of (or besides) SASL: the client certificate (PEM) and its key; both or neither. */
  KAFKA_SSL_CERT_FILE: filePath.optional(),
  KAFKA_SSL_KEY_FILE: filePath.optional(),
  /** SASL over TLS: the service's own user; the password is read from a file (a mounted Secret). */
  KAFKA_SASL_MECHANISM: z.enum(['scram-sha-512', 'scram-sha-256']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).max(255).optional(),
  KAFKA_SASL_PASSWORD_FILE: filePath.optional(),
};

/** A device listener's edge (bootstrap, telemetry): behind a passthrough balancer, and per-source limits. */
export const deviceEdgeEnv = {
  /** PROXY protocol v2 before TLS, from DEVICE_TRUSTED_PROXIES only; off by default. */
  DEVICE_PROXY_PROTOCOL: booleanFlag.default(false),
  /** The balancers' addresses (comma-separated IPs) whose PROXY header is believed. */
  DEVICE_TRUSTED_PROXIES: commaListSchema(z.union([z.ipv4(), z.ipv6()])).optional(),
  /** Connections open at once from one client address (an IPv6 /64 counts as one). */
  DEVICE_MAX_CONNECTIONS_PER_SOURCE: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
};

/** The refinement a config with deviceEdgeEnv adds: `.refine(...deviceEdgeRule)`. */
export const deviceEdgeRule: [
  (env: { DEVICE_PROXY_PROTOCOL: boolean; DEVICE_TRUSTED_PROXIES?: string[] | undefined }) => boolean,
  { path: string[]; message: string },
] = [
  (env) => !env.DEVICE_PROXY_PROTOCOL || env.DEVICE_TRUSTED_PROXIES !== undefined,
  {
    path: ['DEVICE_TRUSTED_PROXIES'],
    message: 'set the balancers’ addresses when DEVICE_PROXY_PROTOCOL is true',
  },
];

export const postgresEnv = {
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
};

export const redisEnv = {
  /** redis:// or rediss:// (TLS). Credentials may sit in it, but better in the two settings below. */
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }),
  /** The service's ACL user, limited to its key prefix; its password is read from a file. */
  REDIS_USERNAME: z.string().min(1).max(255).optional(),
  REDIS_PASSWORD_FILE: filePath.optional(),
  /** For rediss://: PEM file of the CA the server's certificate chains to (system CAs unless set). */
  REDIS_TLS_CA_FILE: filePath.optional(),
};

export const s3Env = {
  /** Unset for AWS S3; set for MinIO, S3Proxy and other S3 API servers. */
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().min(1),
  S3_SECRET_ACCESS_KEY: z.string().min(1),
  S3_FORCE_PATH_STYLE: booleanFlag.default(false),
};

const exporterKind = z.enum(['otlp', 'console', 'memory', 'none']);

export const otelSchema = z
  .object({
    OTEL_TRACES_EXPORTER: exporterKind.default('none'),
    OTEL_METRICS_EXPORTER: exporterKind.default('none'),
    OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    /**
     * The Prometheus scrape endpoint (GET /metrics, plain HTTP) on a port of its own, never a device
     * listener's; off when unset, 0 takes any free port (tests). 9464 in Kubernetes.
     */
    METRICS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
    /** Where it binds: every interface by default (Prometheus scrapes the pod's address). */
    METRICS_HOST: z.string().min(1).default('0.0.0.0'),
    /**
     * Read by the OpenTelemetry SDK itself: they name the service and add resource attributes
     * (`key=value,key=value`), over the service's own name, its release and the Kubernetes names below.
     */
    OTEL_SERVICE_NAME: z.string().min(1).optional(),
    OTEL_RESOURCE_ATTRIBUTES: z.string().optional(),
    /**
     * The pod as the Kubernetes downward API gives it (metadata.name, metadata.uid, metadata.namespace,
     * spec.nodeName): the resource attributes k8s.pod.name, k8s.pod.uid, k8s.namespace.name, k8s.node.name.
     */
    K8S_POD_NAME: z.string().min(1).optional(),
    K8S_POD_UID: z.string().min(1).optional(),
    K8S_NAMESPACE_NAME: z.string().min(1).optional(),
    K8S_NODE_NAME: z.string().min(1).optional(),
  })
  // The collector address is needed only when something is sent to one.
  .refine(
    (env) =>
      env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined ||
      (env.OTEL_TRACES_EXPORTER !== 'otlp' && env.OTEL_METRICS_EXPORTER !== 'otlp'),
    { path: ['OTEL_EXPORTER_OTLP_ENDPOINT'], message: 'is required when an exporter is otlp' },
  );
export type OtelConfig = z.infer<typeof otelSchema>;
