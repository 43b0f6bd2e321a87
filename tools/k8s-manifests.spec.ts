// Guards the Kubernetes manifests (k8s/) and the service image (deploy/docker/) against the mistakes that
// only show up in a cluster: a probe on the wrong port, a Secret handed to a service that has no use for
// it, a grace period shorter than the drain, a root container, a manifest that no kustomization applies,
// a variable the service does not read or cannot parse, an internal route reachable from outside.
// The checks run on the files as written and, where kubectl is installed, on each rendered kustomization.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { loadConfig, otelSchema } from '@meterkeep/config';

const root = resolve(__dirname, '..');
const k8sDir = join(root, 'k8s');

type Store = 'db' | 's3' | 'psk-kek' | 'bootstrap-kek' | 'privacy-kek';

/** The name of the container and Service port of a meter-facing mutual-TLS listener. */
const DEVICE_TLS = 'device-tls';
/** The name of the container and Service port of a service's internal listener (mutual TLS, internal routes). */
const INTERNAL = 'internal';
/** Where a service's identity Secret (kubernetes.io/tls: tls.crt, tls.key, ca.crt) is mounted. */
const IDENTITY_DIR = '/run/meterkeep/identity';
const IDENTITY_FILES: Record<string, string> = {
  SERVICE_TLS_CERT_FILE: 'tls.crt',
  SERVICE_TLS_KEY_FILE: 'tls.key',
  PLATFORM_CA_FILE: 'ca.crt',
};
/** The Secret cert-manager keeps a service's identity in (its certificate's CN is the service name). */
const identitySecret = (service: string) => `meterkeep-${service}-identity`;

interface ServiceRow {
  /** The workload kind; a Deployment unless the service needs a stable identity per replica. */
  workload?: 'StatefulSet';
  /** The variable that takes the pod's name (downward API) as the replica's stable identity. */
  instanceIdEnv?: string;
  /** The plain HTTP port (DEFAULT_PORT): probes, and whatever the ingress controller forwards. */
  port: number;
  /** The stores whose Secrets the service gets. */
  secrets: Store[];
  /** The meters' mutual-TLS listener the service terminates itself (DEFAULT_TLS_PORT), and its variable. */
  deviceTls?: { port: number; env: string };
  /** Its own identity between services (mutual TLS with the platform CA), from identitySecret(name). */
  identity?: true;
  /** The internal listener (INTERNAL_PORT): internal routes only, mutual TLS, never through an Ingress. */
  internalPort?: number;
  /** The services whose pods call this one on its internal port, inside the namespace. */
  calledBy?: string[];
  /** The path prefix of routes for other services only: never routed by an Ingress. */
  internalPrefix?: string;
  /** Uses Redis, as an ACL user of its own. */
  redis?: true;
  /**
   * Key material mounted from a Secret of its own (read-only, not world-readable) at `dir`; the variable
   * `env` names `<dir>/<file>` wherever the service's config reads it.
   */
  files?: { secret: string; dir: string; file: string; env: string }[];
}

/** Every service's Prometheus endpoint (METRICS_PORT), the OpenTelemetry Prometheus exporter's usual port. */
const METRICS_PORT = 9464;

/** The services, their ports (apps/<name>/src/config.ts), Secrets and callers. */
const SERVICES: Record<string, ServiceRow> = {
  enrollment: {
    port: 3001,
    secrets: ['db', 'psk-kek'],
    identity: true,
    internalPort: 3101,
    // bootstrap: PSK-proof check; privacy, ota-distributor: API-key introspection.
    calledBy: ['bootstrap', 'privacy', 'ota-distributor'],
    internalPrefix: '/internal/',
  },
  bootstrap: {
    port: 3002,
    secrets: ['db', 'bootstrap-kek'],
    identity: true,
    internalPort: 3102,
    redis: true,
    deviceTls: { port: 8443, env: 'BOOTSTRAP_TLS_PORT' },
    // telemetry-ingest, ota-distributor: their device listeners' server certificates.
    calledBy: ['telemetry-ingest', 'ota-distributor'],
    // The distributor's directive public key(s), handed to meters in every answer.
    files: [
      {
        secret: 'meterkeep-ota-directive-public-keys',
        dir: '/run/meterkeep/ota-directive',
        file: 'directive.pub.pem',
        env: 'OTA_DIRECTIVE_PUBLIC_KEYS_FILE',
      },
    ],
    internalPrefix: '/internal/',
  },
  'telemetry-ingest': {
    redis: true,
    // TELEMETRY_INSTANCE_ID is its Kafka transactional id: stable per replica, so a StatefulSet.
    workload: 'StatefulSet',
    instanceIdEnv: 'TELEMETRY_INSTANCE_ID',
    port: 3003,
    secrets: [],
    identity: true,
    deviceTls: { port: 8444, env: 'TELEMETRY_TLS_PORT' },
  },
  'ota-distributor': {
    port: 3004,
    secrets: ['db', 's3'],
    identity: true,
    deviceTls: { port: 8445, env: 'OTA_TLS_PORT' },
    // The directive signing key (its own Secret: no other service may read it).
    files: [
      {
        secret: 'meterkeep-ota-directive-key',
        dir: '/run/secrets/ota-directive',
        file: 'directive.key.pem',
        env: 'OTA_DIRECTIVE_KEY_FILE',
      },
    ],
  },
  privacy: {
    port: 3005,
    secrets: ['db', 's3', 'privacy-kek'],
    identity: true,
    internalPort: 3105,
    // telemetry-ingest: the meters' data keys.
    calledBy: ['telemetry-ingest'],
    internalPrefix: '/internal/',
  },
};

/** Which Secret carries which store's credentials, and the keys a service needs from it. */
const SECRETS: Record<Store, { name: string; keys: string[] }> = {
  db: { name: 'meterkeep-db', keys: ['DATABASE_URL'] },
  s3: { name: 'meterkeep-s3', keys: ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] },
  'psk-kek': { name: 'meterkeep-psk-kek', keys: ['ENROLLMENT_PSK_KEK'] },
  'bootstrap-kek': { name: 'meterkeep-bootstrap-kek', keys: ['BOOTSTRAP_KEK'] },
  'privacy-kek': { name: 'meterkeep-privacy-kek', keys: ['PRIVACY_KEK'] },
};

/**
 * Each service's own broker credentials, mounted as files (the Kafka SCRAM password; the Redis ACL user's
 * password): never another service's, so one compromised pod cannot speak as another principal.
 */
function credentialSecrets(name: string): string[] {
  return [
    `meterkeep-kafka-${name}`,
    ...(SERVICES[name]?.redis ? [`meterkeep-redis-${name}`] : []),
    ...(SERVICES[name]?.files ?? []).map((f) => f.secret),
  ];
}

/** Well-formed stand-ins for the Secrets' keys, so a service's schema can parse what a manifest gives it. */
const SECRET_STAND_INS: Record<string, string> = {
  DATABASE_URL: 'postgres://meterkeep@postgres.example:5432/meterkeep',
  S3_ACCESS_KEY_ID: 'stand-in',
  S3_SECRET_ACCESS_KEY: 'stand-in',
  ENROLLMENT_PSK_KEK: Buffer.alloc(32, 1).toString('base64'),
  BOOTSTRAP_KEK: Buffer.alloc(32, 2).toString('base64'),
  PRIVACY_KEK: Buffer.alloc(32, 3).toString('base64'),
};

/** A default that points at the pod itself: right on a laptop, wrong in a cluster. */
const LOCAL_ADDRESS = /localhost|127\.0\.0\.1|\[::1\]/;

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
/** libs/observability runProbes gives each store check this long; readiness must wait longer. */
const STORE_CHECK_TIMEOUT_S = 2;
const SECRET_LIKE = /SECRET|PASSWORD|PASSWD|PASSPHRASE|TOKEN|CREDENTIAL|PRIVATE|(^|_)KEY($|_)|_PSK|_KEK/i;
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]+@/i;
/** A secret-looking name that holds a path to a mounted file (SERVICE_TLS_KEY_FILE), not the secret. */
const secretValued = (name: string) => SECRET_LIKE.test(name) && !name.endsWith('_FILE');

// ---- minimal shapes of what the checks read ----------------------------------------------------------

interface Meta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
  spec?: Record<string, unknown>;
  data?: Record<string, unknown>;
  stringData?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
}
interface Probe {
  httpGet?: { path?: string; port?: number | string };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type?: string };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name?: string; key?: string };
    configMapKeyRef?: { name?: string; key?: string };
    fieldRef?: { fieldPath?: string };
  };
}
interface EnvFrom {
  secretRef?: { name?: string };
  configMapRef?: { name?: string };
}
interface Container {
  name: string;
  image?: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: EnvFrom[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds?: number }; exec?: { command?: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Volume {
  name: string;
  emptyDir?: object;
  secret?: { secretName?: string; defaultMode?: number };
  projected?: { sources?: { secret?: { name?: string } }[] };
}
interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext;
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
}
/** A Deployment's or a StatefulSet's spec, as far as the checks read it. */
interface WorkloadSpec {
  replicas?: number;
  selector?: { matchLabels?: Record<string, string> };
  template: { metadata?: Meta; spec: PodSpec };
  /** StatefulSet only. */
  serviceName?: string;
  updateStrategy?: { type?: string };
  volumeClaimTemplates?: unknown[];
}
interface ServiceSpec {
  type?: string;
  selector?: Record<string, string>;
  ports?: { name?: string; port: number; targetPort?: number | string }[];
}
interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: unknown[];
}
interface NetworkPolicyPeer {
  namespaceSelector?: LabelSelector;
  podSelector?: LabelSelector;
  ipBlock?: unknown;
}
interface NetworkPolicySpec {
  podSelector?: LabelSelector;
  policyTypes?: string[];
  ingress?: { from?: NetworkPolicyPeer[]; ports?: { port?: number | string }[] }[];
}
interface IngressBackend {
  service?: { name?: string; port?: { name?: string; number?: number } };
}
interface IngressSpec {
  defaultBackend?: IngressBackend;
  rules?: {
    host?: string;
    http?: { paths?: { path?: string; pathType?: string; backend?: IngressBackend }[] };
  }[];
}
interface Kustomization {
  kind?: string;
  resources?: string[];
  components?: string[];
  patches?: { path?: string }[];
  patchesStrategicMerge?: string[];
  patchesJson6902?: { path?: string }[];
  configMapGenerator?: {
    name?: string;
    behavior?: string;
    files?: string[];
    envs?: string[];
    env?: string;
  }[];
  secretGenerator?: unknown[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
}

interface Doc {
  file: string;
  manifest: Manifest;
}

// ---- loading -----------------------------------------------------------------------------------------

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

function parseYaml(text: string, where: string): Manifest[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJSON() as Manifest | unknown[] | null;
    // A JSON patch (a list of operations) is no manifest: its kustomization names it under patches.
    return value === null || Array.isArray(value) ? [] : [value];
  });
}

/** A generator's .env file (KEY=VALUE lines, # comments) as the ConfigMap data kustomize makes of it. */
function parseEnvFile(text: string): Record<string, string> {
  const data: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const at = trimmed.indexOf('=');
    data[trimmed.slice(0, at)] = trimmed.slice(at + 1);
  }
  return data;
}

const files = yamlFiles(k8sDir);
const rel = (file: string) => relative(root, file);
const isKustomization = (file: string) => /^kustomization\.ya?ml$/.test(file.split('/').pop()!);
const kustomizationFiles = files.filter(isKustomization);
const manifestFiles = files.filter((file) => !isKustomization(file));
const docs: Doc[] = manifestFiles.flatMap((file) =>
  parseYaml(readFileSync(file, 'utf8'), rel(file)).map((manifest) => ({ file: rel(file), manifest })),
);
const kustomizations = kustomizationFiles.map((file) => ({
  file,
  k: parseYaml(readFileSync(file, 'utf8'), rel(file))[0] as Kustomization,
}));

/**
 * The manifests under a kustomization directory that it lists as resources (followed through bases), and
 * the ConfigMaps its configMapGenerator makes (under their plain names: kustomize adds the hash suffix).
 */
function resourcesOf(dir: string): Doc[] {
  const entry = kustomizations.find((k) => dirname(k.file) === dir);
  if (!entry) return [];
  const resources = (entry.k.resources ?? []).flatMap((ref) => {
    const target = resolve(dir, ref);
    if (existsSync(target) && statSync(target).isDirectory()) return resourcesOf(target);
    return docs.filter((d) => d.file === rel(target));
  });
  const generated = (entry.k.configMapGenerator ?? []).map((generator) => ({
    file: rel(entry.file),
    manifest: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: generator.name },
      data: Object.assign(
        {},
        ...[...(generator.envs ?? []), ...(generator.env ? [generator.env] : [])].map((env) =>
          parseEnvFile(readFileSync(resolve(dir, env), 'utf8')),
        ),
      ) as Record<string, string>,
    },
  }));
  return [...resources, ...generated];
}

// ---- the checks, shared by the files as written and the rendered kustomizations ---------------------

const byKind = (all: Manifest[], kind: string, name?: string) =>
  all.filter((m) => m.kind === kind && (name === undefined || m.metadata?.name === name));

/** The kinds that run pods; the services run as Deployments, or StatefulSets where the row says so. */
const POD_KINDS = [
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ReplicationController',
  'Job',
  'CronJob',
  'Pod',
];
const workloads = (all: Manifest[], name?: string) =>
  all.filter(
    (m) =>
      (m.kind === 'Deployment' || m.kind === 'StatefulSet') &&
      (name === undefined || m.metadata?.name === name),
  );
const workloadSpec = (workload: Manifest | undefined) =>
  workload?.spec as unknown as WorkloadSpec | undefined;
/** The service's own container in its pod (named after it, else the first). */
const serviceContainer = (name: string, spec: WorkloadSpec | undefined) =>
  spec?.template.spec.containers.find((c) => c.name === name) ?? spec?.template.spec.containers[0];

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);

function resolvePort(container: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** Seconds the preStop hook holds SIGTERM back: the sleep action, or an exec of `sleep N`. */
function preStopSeconds(container: Container): number | undefined {
  const hook = container.lifecycle?.preStop;
  if (hook?.sleep?.seconds !== undefined) return hook.sleep.seconds;
  const command = hook?.exec?.command?.join(' ') ?? '';
  const match = /(?:^|\s|\/)sleep\s+(\d+)/.exec(command);
  return match ? Number(match[1]) : undefined;
}

/** Every Secret a pod can read: env, envFrom and volumes. */
function secretsReferenced(pod: PodSpec): Set<string> {
  const names = new Set<string>();
  for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
    for (const e of c.env ?? [])
      if (e.valueFrom?.secretKeyRef?.name) names.add(e.valueFrom.secretKeyRef.name);
    for (const e of c.envFrom ?? []) if (e.secretRef?.name) names.add(e.secretRef.name);
  }
  for (const v of pod.volumes ?? []) {
    if (v.secret?.secretName) names.add(v.secret.secretName);
    for (const s of v.projected?.sources ?? []) if (s.secret?.name) names.add(s.secret.name);
  }
  return names;
}

/** The value a variable takes in a container (plain env first, then envFrom ConfigMaps), if any. */
function envValue(container: Container, all: Manifest[], name: string): string | undefined {
  const direct = container.env?.find((e) => e.name === name);
  if (direct) return direct.value ?? (direct.valueFrom ? '<from reference>' : undefined);
  for (const from of container.envFrom ?? []) {
    if (from.secretRef) continue;
    const map = byKind(all, 'ConfigMap', from.configMapRef?.name)[0];
    const value = map?.data?.[name];
    if (value !== undefined) return typeof value === 'string' ? value : JSON.stringify(value);
  }
  return undefined;
}

function checkSecurity(name: string, pod: PodSpec, container: Container): string[] {
  const problems: string[] = [];
  const podCtx = pod.securityContext ?? {};
  const ctx = container.securityContext ?? {};
  const need = (ok: boolean, what: string) => {
    if (!ok) problems.push(`${name}: ${what}`);
  };
  need(podCtx.runAsNonRoot === true, 'pod securityContext.runAsNonRoot must be true');
  need(podCtx.runAsUser === 1000, 'pod securityContext.runAsUser must be 1000');
  need(podCtx.seccompProfile?.type === 'RuntimeDefault', 'pod seccompProfile must be RuntimeDefault');
  need((ctx.runAsNonRoot ?? podCtx.runAsNonRoot) === true, 'container runAsNonRoot must be true');
  need((ctx.runAsUser ?? podCtx.runAsUser) === 1000, 'container runAsUser must be 1000');
  need(ctx.readOnlyRootFilesystem === true, 'readOnlyRootFilesystem must be true');
  need(ctx.allowPrivilegeEscalation === false, 'allowPrivilegeEscalation must be false');
  need(ctx.privileged !== true, 'must not be privileged');
  need(ctx.capabilities?.drop?.includes('ALL') === true, 'capabilities must drop ALL');
  need((ctx.capabilities?.add ?? []).length === 0, 'must add no capabilities');
  need(
    (ctx.seccompProfile?.type ?? podCtx.seccompProfile?.type) === 'RuntimeDefault',
    'container seccompProfile must be RuntimeDefault',
  );
  need(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC, 'must not share host namespaces');
  const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
  need(
    tmp !== undefined && pod.volumes?.find((v) => v.name === tmp.name)?.emptyDir !== undefined,
    '/tmp must be an emptyDir (the root filesystem is read-only)',
  );
  return problems;
}

/** All invariants of one set of manifests that deploys the five services. */
function serviceProblems(all: Manifest[]): string[] {
  const problems: string[] = [];
  const extra = workloads(all)
    .map((d) => d.metadata?.name ?? '?')
    .filter((n) => !(n in SERVICES));
  if (extra.length > 0) problems.push(`workloads without a row in this test: ${extra.join(', ')}`);
  for (const m of all.filter((m) => POD_KINDS.includes(m.kind ?? '') && !workloads([m]).length))
    problems.push(`${m.kind}/${m.metadata?.name}: the services run as Deployments or StatefulSets only`);

  for (const [name, expected] of Object.entries(SERVICES)) {
    const problem = (what: string) => problems.push(`${name}: ${what}`);
    const found = workloads(all, name);
    const kind = expected.workload ?? 'Deployment';
    if (found.length !== 1 || found[0]!.kind !== kind) {
      problem(`needs exactly one ${kind}, has [${found.map((w) => w.kind).join()}]`);
      continue;
    }
    const spec = workloadSpec(found[0])!;
    const pod = spec.template.spec;
    const podLabels = spec.template.metadata?.labels;
    const container = serviceContainer(name, spec);
    if (!container) {
      problem('no container');
      continue;
    }
    if (!matches(spec.selector?.matchLabels, podLabels)) problem(`${kind} selector does not match its pods`);

    // A stable identity per replica: the StatefulSet's pod name, through the downward API (a Deployment's
    // pod names change with every pod, and a rolling update runs old and new side by side).
    if (kind === 'StatefulSet') {
      if (!spec.serviceName || byKind(all, 'Service', spec.serviceName).length === 0)
        problem(`StatefulSet serviceName ${JSON.stringify(spec.serviceName)} names no Service`);
      if ((spec.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate')
        problem('StatefulSet updateStrategy must be RollingUpdate (OnDelete never rolls out)');
    }
    if (expected.instanceIdEnv) {
      const id = container.env?.find((e) => e.name === expected.instanceIdEnv);
      if (id?.valueFrom?.fieldRef?.fieldPath !== 'metadata.name' || id.value !== undefined)
        problem(`${expected.instanceIdEnv} must come from the pod's metadata.name (downward API)`);
    }
    if (container.args?.[0] !== name && envValue(container, all, 'SERVICE') !== name)
      problem(`the container must run "${name}" (args[0]), not ${JSON.stringify(container.args?.[0])}`);

    // Ports: container, Service and probes agree on the service's port.
    const http = container.ports?.find((p) => p.containerPort === expected.port);
    if (!http) problem(`container port ${expected.port} missing (has ${JSON.stringify(container.ports)})`);
    const portEnv = envValue(container, all, 'PORT');
    if (portEnv !== undefined && Number(portEnv) !== expected.port)
      problem(`PORT=${portEnv}, not ${expected.port}`);
    const service = byKind(all, 'Service', name)[0];
    const serviceSpec = service?.spec as ServiceSpec | undefined;
    if (!serviceSpec) problem('no Service');
    else {
      if ((serviceSpec.type ?? 'ClusterIP') !== 'ClusterIP')
        problem(`Service type ${serviceSpec.type}, not ClusterIP`);
      if (!matches(serviceSpec.selector, podLabels)) problem('Service selector does not match the pods');
      // The plain port and, where the service has one, the device listener; each names a declared
      // containerPort, under the same name and number.
      const wanted = [
        expected.port,
        METRICS_PORT,
        ...(expected.deviceTls ? [expected.deviceTls.port] : []),
        ...(expected.internalPort ? [expected.internalPort] : []),
      ];
      const exposed = (serviceSpec.ports ?? []).map((p) => p.port);
      const numeric = (a: number, b: number) => a - b;
      if (exposed.sort(numeric).join() !== wanted.sort(numeric).join())
        problem(`Service ports [${exposed.join()}], not [${wanted.join()}]`);
      for (const p of serviceSpec.ports ?? []) {
        const declared =
          typeof p.targetPort === 'string'
            ? container.ports?.find((c) => c.name === p.targetPort)
            : undefined;
        if (!declared)
          problem(
            `Service port ${p.port}: targetPort ${JSON.stringify(p.targetPort)} names no containerPort`,
          );
        else if (p.name !== declared.name || p.port !== declared.containerPort)
          problem(
            `Service port ${p.name}:${p.port} → containerPort ${declared.name}:${declared.containerPort}`,
          );
      }
    }

    // The Prometheus endpoint: its own port named `metrics` (what the ServiceMonitors scrape), METRICS_PORT.
    if (container.ports?.find((p) => p.name === 'metrics')?.containerPort !== METRICS_PORT)
      problem(`needs containerPort ${METRICS_PORT} named metrics`);
    const metricsPortEnv = envValue(container, all, 'METRICS_PORT');
    if (Number(metricsPortEnv) !== METRICS_PORT)
      problem(`METRICS_PORT=${metricsPortEnv}, not ${METRICS_PORT}`);

    // The meters' mutual-TLS listener: on the services listed with one, nowhere else.
    const deviceTls = container.ports?.find((p) => p.name === DEVICE_TLS);
    if (expected.deviceTls) {
      if (deviceTls?.containerPort !== expected.deviceTls.port)
        problem(`needs containerPort ${expected.deviceTls.port} named ${DEVICE_TLS}`);
      const tlsPortEnv = envValue(container, all, expected.deviceTls.env);
      if (tlsPortEnv !== undefined && Number(tlsPortEnv) !== expected.deviceTls.port)
        problem(`${expected.deviceTls.env}=${tlsPortEnv}, not ${expected.deviceTls.port}`);
    } else if (deviceTls || serviceSpec?.ports?.some((p) => p.name === DEVICE_TLS))
      problem(`has a ${DEVICE_TLS} port, but terminates no device TLS`);
    // The internal listener: on the services listed with one, nowhere else; INTERNAL_PORT agrees.
    const internalPort = container.ports?.find((p) => p.name === INTERNAL);
    const internalPortEnv = envValue(container, all, 'INTERNAL_PORT');
    if (expected.internalPort) {
      if (internalPort?.containerPort !== expected.internalPort)
        problem(`needs containerPort ${expected.internalPort} named ${INTERNAL}`);
      if (Number(internalPortEnv) !== expected.internalPort)
        problem(`INTERNAL_PORT=${internalPortEnv}, not ${expected.internalPort}`);
    } else if (internalPort || internalPortEnv !== undefined)
      problem(`has an ${INTERNAL} port or INTERNAL_PORT, but serves no internal route`);

    // Its identity: its own kubernetes.io/tls Secret, mounted read-only, the files named by the variables.
    if (expected.identity) {
      const volume = pod.volumes?.find((v) => v.secret?.secretName === identitySecret(name));
      const mount = volume && container.volumeMounts?.find((m) => m.name === volume.name);
      if (!volume || mount?.mountPath !== IDENTITY_DIR || mount.readOnly !== true)
        problem(`must mount Secret ${identitySecret(name)} read-only at ${IDENTITY_DIR}`);
      else if ((volume.secret?.defaultMode ?? 0o644) & 0o007)
        problem(`Secret ${identitySecret(name)} must not be world-readable (defaultMode 0440)`);
      for (const [variable, file] of Object.entries(IDENTITY_FILES))
        if (envValue(container, all, variable) !== `${IDENTITY_DIR}/${file}`)
          problem(`${variable} must be ${IDENTITY_DIR}/${file}`);
    }

    const probes: [keyof Container, string][] = [
      ['livenessProbe', '/health/live'],
      ['readinessProbe', '/health/ready'],
      ['startupProbe', '/health/live'],
    ];
    for (const [kind, path] of probes) {
      const probe = container[kind] as Probe | undefined;
      if (!probe?.httpGet) {
        problem(`${kind} missing`);
        continue;
      }
      if (probe.httpGet.path !== path) problem(`${kind} path ${probe.httpGet.path}, not ${path}`);
      const port = resolvePort(container, probe.httpGet.port);
      if (port !== expected.port)
        problem(`${kind} port ${String(probe.httpGet.port)} → ${port}, not ${expected.port}`);
    }
    const readiness = container.readinessProbe;
    if (readiness?.periodSeconds !== 5 || readiness.failureThreshold !== 2)
      problem('readinessProbe must have periodSeconds 5 and failureThreshold 2');
    if ((readiness?.timeoutSeconds ?? 1) <= STORE_CHECK_TIMEOUT_S)
      problem(`readinessProbe timeoutSeconds must exceed the ${STORE_CHECK_TIMEOUT_S} s store checks`);

    // Shutdown: the grace period covers the preStop pause and the whole drain.
    const preStop = preStopSeconds(container);
    const shutdownMs = Number(envValue(container, all, 'SHUTDOWN_TIMEOUT_MS') ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    if (preStop === undefined || preStop < 1) problem('needs a preStop sleep so endpoint removal propagates');
    else if (grace <= shutdownMs / 1000 + preStop)
      problem(
        `terminationGracePeriodSeconds ${grace} ≤ SHUTDOWN_TIMEOUT_MS/1000 (${shutdownMs / 1000}) + preStop ${preStop}`,
      );

    problems.push(...checkSecurity(name, pod, container));
    for (const other of [...pod.containers, ...(pod.initContainers ?? [])].filter((c) => c !== container))
      problems.push(...checkSecurity(`${name}/${other.name}`, pod, other));
    const requests = container.resources?.requests ?? {};
    if (!requests.cpu || !requests.memory || !container.resources?.limits?.memory)
      problem('needs cpu and memory requests and a memory limit');

    // Service account: its own, without an API token.
    const account = byKind(all, 'ServiceAccount', pod.serviceAccountName)[0];
    if (pod.serviceAccountName !== name || !account) problem(`must run as its own ServiceAccount "${name}"`);
    if (account?.automountServiceAccountToken !== false)
      problem('ServiceAccount must set automountServiceAccountToken: false');
    if (pod.automountServiceAccountToken === true) problem('pod must not mount a service-account token');

    // Secrets: exactly those of the stores the service uses, and the keys it needs from them.
    const allowed = new Set([
      ...expected.secrets.map((store) => SECRETS[store].name),
      ...(expected.identity ? [identitySecret(name)] : []),
      ...credentialSecrets(name),
    ]);
    const referenced = secretsReferenced(pod);
    for (const secret of referenced) if (!allowed.has(secret)) problem(`must not reference Secret ${secret}`);
    for (const secret of credentialSecrets(name))
      if (!pod.volumes?.some((v) => v.secret?.secretName === secret)) problem(`must mount Secret ${secret}`);
    for (const f of expected.files ?? []) {
      const volume = pod.volumes?.find((v) => v.secret?.secretName === f.secret);
      const mount = volume && container.volumeMounts?.find((m) => m.name === volume.name);
      if (!volume || mount?.mountPath !== f.dir || mount.readOnly !== true)
        problem(`must mount Secret ${f.secret} read-only at ${f.dir}`);
      else if ((volume.secret?.defaultMode ?? 0o644) & 0o007)
        problem(`Secret ${f.secret} must not be world-readable (defaultMode 0440)`);
      const value = envValue(container, all, f.env);
      if (value !== undefined && value !== `${f.dir}/${f.file}`)
        problem(`${f.env} must be ${f.dir}/${f.file}`);
    }
    for (const store of expected.secrets) {
      for (const key of SECRETS[store].keys) {
        const ref = container.env?.find((e) => e.name === key)?.valueFrom?.secretKeyRef;
        const viaEnvFrom = container.envFrom?.some((e) => e.secretRef?.name === SECRETS[store].name);
        if (!viaEnvFrom && (ref?.name !== SECRETS[store].name || ref.key !== key))
          problem(`${key} must come from Secret ${SECRETS[store].name}`);
      }
    }
    for (const e of container.env ?? [])
      if (e.value !== undefined && (secretValued(e.name) || URL_WITH_PASSWORD.test(e.value)))
        problem(`env ${e.name} carries a literal secret; use a secretKeyRef`);

    // Disruption budget and network policy select this service's pods.
    const pdb = byKind(all, 'PodDisruptionBudget').find((p) =>
      matches(
        (p.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels,
        podLabels,
      ),
    );
    if (!pdb) problem('no PodDisruptionBudget selects its pods');
    // Network policy: the ingress controller's namespace reaches the service's ports (the device
    // listener as TLS passthrough), and of the pods in this namespace only its declared callers do.
    const rules = byKind(all, 'NetworkPolicy')
      .map((np) => np.spec as NetworkPolicySpec)
      .filter((s) => matches(s.podSelector?.matchLabels, podLabels))
      .flatMap((s) => s.ingress ?? []);
    const admits = (port: number, from: (peer: NetworkPolicyPeer) => boolean) =>
      rules.some(
        (rule) =>
          (rule.ports ?? []).some((p) => resolvePort(container, p.port) === port) &&
          (rule.from ?? []).some(from),
      );
    const fromNamespace = (peer: NetworkPolicyPeer) => peer.namespaceSelector !== undefined;
    if (!admits(expected.port, fromNamespace))
      problem(`no NetworkPolicy admits port ${expected.port} from the ingress controller's namespace`);
    if (expected.deviceTls && !admits(expected.deviceTls.port, fromNamespace))
      problem(
        `no NetworkPolicy admits ${DEVICE_TLS} (${expected.deviceTls.port}) from the ingress controller`,
      );
    const podLabelsOf = (service: string) =>
      workloadSpec(workloads(all, service)[0])?.template.metadata?.labels;
    const fromPodsOf = (caller: string) => (peer: NetworkPolicyPeer) =>
      !peer.namespaceSelector && matches(peer.podSelector?.matchLabels, podLabelsOf(caller));
    for (const caller of expected.calledBy ?? []) {
      if (!expected.internalPort || !admits(expected.internalPort, fromPodsOf(caller)))
        problem(`no NetworkPolicy admits its ${INTERNAL} port from ${caller}'s pods`);
      if (admits(expected.port, fromPodsOf(caller)))
        problem(`a NetworkPolicy admits ${caller} to the plain port: internal calls go to ${INTERNAL}`);
    }
    if (expected.internalPort && admits(expected.internalPort, fromNamespace))
      problem(`a NetworkPolicy admits the ${INTERNAL} port from another namespace`);
    for (const rule of rules) {
      if ((rule.from ?? []).length === 0) problem('a NetworkPolicy rule admits ingress from anywhere');
      for (const peer of rule.from ?? []) {
        if (peer.namespaceSelector || peer.ipBlock) continue;
        const selected = Object.keys(SERVICES).filter((s) =>
          matches(peer.podSelector?.matchLabels, podLabelsOf(s)),
        );
        if (selected.length === 0 && Object.keys(peer.podSelector?.matchLabels ?? {}).length === 0)
          problem('a NetworkPolicy rule admits every pod of the namespace');
        for (const s of selected)
          if (!(expected.calledBy ?? []).includes(s)) problem(`a NetworkPolicy admits ${s}, not a caller`);
      }
    }

    // Internal calls: each *_INTERNAL_URL names another service's Service on its internal port, over
    // https (mutual TLS) inside the namespace, and that service lists this one as a caller (its
    // NetworkPolicy admits it).
    const targets = new Set<string>();
    for (const variable of (container.env ?? [])
      .map((e) => e.name)
      .filter((n) => n.endsWith('_INTERNAL_URL'))) {
      const value = envValue(container, all, variable) ?? '';
      const url = URL.canParse(value) ? new URL(value) : undefined;
      const target = url?.hostname.replace(/\.meterkeep(\.svc(\.[a-z0-9.-]+)?)?$/, '') ?? '';
      const row = SERVICES[target];
      if (!url || url.protocol !== 'https:' || !row?.internalPort || Number(url.port) !== row.internalPort)
        problem(
          `${variable}=${value}: must be https://<service>:<its ${INTERNAL} port> of a service in this namespace`,
        );
      else if (!(row.calledBy ?? []).includes(name))
        problem(`${variable} calls ${target}, which does not list ${name} as a caller`);
      else targets.add(target);
    }
    for (const [callee, row] of Object.entries(SERVICES))
      if ((row.calledBy ?? []).includes(name) && !targets.has(callee))
        problem(`${callee} lists it as a caller, but no *_INTERNAL_URL of it points there`);
  }

  problems.push(...ingressProblems(all));

  const defaultDeny = byKind(all, 'NetworkPolicy').some((np) => {
    const s = np.spec as NetworkPolicySpec;
    const selectsAll =
      Object.keys(s.podSelector?.matchLabels ?? {}).length === 0 &&
      (s.podSelector?.matchExpressions ?? []).length === 0;
    return selectsAll && (s.policyTypes ?? []).includes('Ingress') && (s.ingress ?? []).length === 0;
  });
  if (!defaultDeny)
    problems.push('no default-deny ingress NetworkPolicy (podSelector: {}, no ingress rules)');
  return problems;
}

const SSL_PASSTHROUGH = 'nginx.ingress.kubernetes.io/ssl-passthrough';

/**
 * Routes for other services only (/internal/, and the internal listeners that serve them) stay inside the cluster: no Ingress path
 * starts with /internal, and none reaches a service's plain port through a prefix of it ('/', a regex, a
 * default backend; `Prefix` matches whole path elements, `ImplementationSpecific` on ingress-nginx is a
 * plain string prefix, so /int there reaches /internal/). The device listeners (device-tls) serve no
 * internal route and must be reached by TLS passthrough (the service terminates mutual TLS itself);
 * passthrough routes a whole host, paths ignored, so it may lead to a device-tls port only.
 */
function ingressProblems(all: Manifest[]): string[] {
  const problems: string[] = [];
  for (const ingress of byKind(all, 'Ingress')) {
    const annotations = ingress.metadata?.annotations ?? {};
    const passthrough = annotations[SSL_PASSTHROUGH] === 'true';
    const regex = annotations['nginx.ingress.kubernetes.io/use-regex'] === 'true';
    const spec = (ingress.spec ?? {}) as IngressSpec;
    const routes = [
      ...(spec.defaultBackend ? [{ path: '/', pathType: 'Prefix', backend: spec.defaultBackend }] : []),
      ...(spec.rules ?? []).flatMap((rule) => rule.http?.paths ?? []),
    ];
    for (const { path = '/', pathType = 'ImplementationSpecific', backend } of routes) {
      const problem = (what: string) =>
        problems.push(`Ingress ${ingress.metadata?.name}: ${path} → ${backend?.service?.name}: ${what}`);
      const row = SERVICES[backend?.service?.name ?? ''];
      const port = backend?.service?.port;
      const toDeviceTls =
        row?.deviceTls !== undefined && (port?.name === DEVICE_TLS || port?.number === row.deviceTls.port);
      if (port?.name === INTERNAL || (row?.internalPort !== undefined && port?.number === row.internalPort))
        problem(`routes the ${INTERNAL} listener`);
      if (/^\/internal/i.test(path)) problem('routes /internal/');
      else if (row?.internalPrefix && !toDeviceTls && !passthrough && pathType !== 'Exact') {
        const reaches = regex
          ? new RegExp(`^${path}`).test(row.internalPrefix)
          : pathType === 'Prefix'
            ? row.internalPrefix.startsWith(path.replace(/\/?$/, '/'))
            : row.internalPrefix.startsWith(path);
        if (reaches) problem(`reaches ${row.internalPrefix} (list the public prefixes instead)`);
      }
      if (passthrough && !toDeviceTls)
        problem(`TLS passthrough routes the whole host: only to a ${DEVICE_TLS} port`);
      if (!passthrough && toDeviceTls) problem(`${DEVICE_TLS} needs the ${SSL_PASSTHROUGH} annotation`);
    }
  }
  return problems;
}

/** Secrets must never be committed: no Secret objects, no secret-looking ConfigMap entries. */
function secretProblems(all: Doc[]): string[] {
  const problems: string[] = [];
  for (const { file, manifest } of all) {
    if (manifest.kind === 'Secret')
      problems.push(
        `${file}: Secret ${manifest.metadata?.name} is committed; reference it, create it out of band`,
      );
    if (manifest.kind === 'ConfigMap') {
      for (const [key, value] of Object.entries(manifest.data ?? {})) {
        if (SECRET_LIKE.test(key)) problems.push(`${file}: ConfigMap key ${key} looks secret`);
        if (key === 'DATABASE_URL') problems.push(`${file}: DATABASE_URL belongs in Secret meterkeep-db`);
        // The API takes only strings here: an unquoted 10000 or true fails `kubectl apply`.
        if (typeof value !== 'string') problems.push(`${file}: ConfigMap ${key} must be a quoted string`);
        else if (URL_WITH_PASSWORD.test(value))
          problems.push(`${file}: ConfigMap ${key} has a password in its URL`);
      }
    }
  }
  return problems;
}

// ---- the services' configuration schemas (apps/<name>/src/config.ts) ----------------------------------

interface ServiceConfig {
  /** The zod object loadConfig parses the environment with: its keys are the variables the service reads. */
  schema: z.ZodObject;
  defaultPort: unknown;
  defaultTlsPort: unknown;
}

let serviceConfigsLoading: Promise<Record<string, ServiceConfig>> | undefined;

/**
 * Each service's config module, for its schema (the truth for variable names, requirements and defaults):
 * `<PascalName>Config`, DEFAULT_PORT, DEFAULT_TLS_PORT. Imported by a computed path: this test reads the
 * apps' configuration, it is no code that depends on the apps (tools/project.json lists the files as inputs).
 */
function serviceConfigs(): Promise<Record<string, ServiceConfig>> {
  serviceConfigsLoading ??= Promise.all(
    Object.keys(SERVICES).map(async (name) => {
      const module = (await import(join(root, 'apps', name, 'src', 'config.ts'))) as Record<string, unknown>;
      const exported = `${name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase())}Config`;
      const schema = module[exported] as z.ZodObject | undefined;
      if (!schema?.shape) throw new Error(`apps/${name}/src/config.ts exports no zod object ${exported}`);
      const config: ServiceConfig = {
        schema,
        defaultPort: module.DEFAULT_PORT,
        defaultTlsPort: module.DEFAULT_TLS_PORT,
      };
      return [name, config] as const;
    }),
  ).then(Object.fromEntries);
  return serviceConfigsLoading;
}

/** What a variable's schema makes of it when unset: required (no value), or its default (maybe none). */
function unsetValue(
  schema: z.ZodObject,
  key: string,
): { required: true } | { required: false; value: unknown } {
  const result = (schema.shape[key] as z.ZodType).safeParse(undefined);
  return result.success ? { required: false, value: result.data } : { required: true };
}

/** A ConfigMap value as the container sees it (a non-string one fails secretProblems). */
const text = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/** The environment a container starts with: ConfigMaps (envFrom), then env; Secrets and the downward API
 * as well-formed stand-ins. */
function containerEnvironment(
  container: Container,
  all: Manifest[],
  podName: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const map = byKind(all, 'ConfigMap', from.configMapRef?.name)[0];
    for (const [key, value] of Object.entries(map?.data ?? {})) env[key] = text(value);
    if (from.secretRef)
      for (const store of Object.values(SECRETS).filter((s) => s.name === from.secretRef?.name))
        for (const key of store.keys) env[key] = SECRET_STAND_INS[key] ?? 'stand-in';
  }
  for (const e of container.env ?? []) {
    const from = e.valueFrom;
    if (e.value !== undefined) env[e.name] = e.value;
    else if (from?.secretKeyRef) env[e.name] = SECRET_STAND_INS[from.secretKeyRef.key ?? ''] ?? 'stand-in';
    else if (from?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = podName;
    else if (from?.configMapKeyRef) {
      const value = byKind(all, 'ConfigMap', from.configMapKeyRef.name)[0]?.data?.[
        from.configMapKeyRef.key ?? ''
      ];
      if (value !== undefined) env[e.name] = text(value);
    }
  }
  return env;
}

/** Every variable a manifest sets is one the service reads; every one it requires is set; a default that
 * points at the pod itself is overridden; and the whole environment parses as at start-up. */
function configProblems(all: Manifest[], configs: Record<string, ServiceConfig>): string[] {
  const problems: string[] = [];
  const sharedKeys = new Map<string, Set<string>>();
  for (const [name, expected] of Object.entries(SERVICES)) {
    const problem = (what: string) => problems.push(`${name}: ${what}`);
    const { schema, defaultPort, defaultTlsPort } = configs[name]!;
    if (defaultPort !== expected.port)
      problem(`DEFAULT_PORT is ${String(defaultPort)}, this test says ${expected.port}`);
    if (defaultTlsPort !== expected.deviceTls?.port)
      problem(`DEFAULT_TLS_PORT is ${String(defaultTlsPort)}, this test says ${expected.deviceTls?.port}`);

    const keys = Object.keys(schema.shape);
    const reads = new Set([...keys, ...Object.keys(otelSchema.shape)]);
    const workload = workloads(all, name)[0];
    const container = serviceContainer(name, workloadSpec(workload));
    if (!container) continue; // serviceProblems reports it
    for (const f of expected.files ?? [])
      if (keys.includes(f.env) && envValue(container, all, f.env) !== `${f.dir}/${f.file}`)
        problem(`${f.env} must name the mounted ${f.dir}/${f.file}`);
    for (const e of container.env ?? [])
      if (!reads.has(e.name)) problem(`sets ${e.name}, which apps/${name}/src/config.ts does not read`);
    for (const from of container.envFrom ?? [])
      if (from.configMapRef?.name) {
        const users = sharedKeys.get(from.configMapRef.name) ?? new Set<string>();
        for (const key of reads) users.add(key);
        sharedKeys.set(from.configMapRef.name, users);
      }

    // The Secrets: those of every store whose keys the schema reads (optional ones too); a required
    // secret-looking variable needs a Secret of its own in this test (a *_FILE names a mounted one).
    const stores = (Object.keys(SECRETS) as Store[]).filter((store) =>
      SECRETS[store].keys.some((key) => keys.includes(key)),
    );
    if ([...stores].sort().join() !== [...expected.secrets].sort().join())
      problem(
        `config reads the Secrets' keys of [${stores.join()}], this test gives [${expected.secrets.join()}]`,
      );
    for (const key of keys) {
      const unset = unsetValue(schema, key);
      const fromSecret = Object.values(SECRETS).some((secret) => secret.keys.includes(key));
      if (unset.required && secretValued(key) && !fromSecret)
        problem(`${key} is a required secret: add its Secret to SECRETS and the manifests`);
      const value = envValue(container, all, key);
      if (unset.required && value === undefined) problem(`${key} is required but not set`);
      // A setting whose default is the pod itself (the *_INTERNAL_URLs, the device host names and URIs)
      // must be set, and to an address others reach.
      if (!unset.required && unset.value !== undefined && LOCAL_ADDRESS.test(JSON.stringify(unset.value)))
        if (value === undefined || LOCAL_ADDRESS.test(value))
          problem(`${key} defaults to ${JSON.stringify(unset.value)}; set it for the cluster, not ${value}`);
    }

    // Parsed as the service does at start-up (a StatefulSet pod is named <name>-<ordinal>).
    const env = containerEnvironment(container, all, `${name}-0`);
    for (const target of [schema, otelSchema])
      try {
        loadConfig(target, env);
      } catch (error) {
        problem((error as Error).message.replace(/\s+/g, ' '));
      }
  }
  // The shared ConfigMap holds only what some service that loads it reads.
  for (const [mapName, users] of sharedKeys)
    for (const key of Object.keys(byKind(all, 'ConfigMap', mapName)[0]?.data ?? {}))
      if (!users.has(key)) problems.push(`ConfigMap ${mapName}: ${key} is read by none of its services`);
  return problems;
}

function kubectlAvailable(): boolean {
  return spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
}

function render(dir: string): Manifest[] {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${rel(dir)} failed: ${result.stderr}`);
  return parseYaml(result.stdout, `kustomize ${rel(dir)}`);
}

// ---- tests -------------------------------------------------------------------------------------------

describe('k8s manifests', () => {
  const baseDir = join(k8sDir, 'base');
  const base = resourcesOf(baseDir);

  it('parse, and every document names its apiVersion, kind and name', () => {
    expect(docs.length).toBeGreaterThan(0);
    const unnamed = docs.filter(
      ({ manifest: m }) => !m.apiVersion || !m.kind || (!m.metadata?.name && m.kind !== 'Kustomization'),
    );
    expect(unnamed.map((d) => d.file)).toEqual([]);
  });

  it('list only files that exist, and every manifest is listed by a kustomization', () => {
    const problems: string[] = [];
    const referenced = new Set<string>();
    for (const { file, k } of kustomizations) {
      const dir = dirname(file);
      if ((k.secretGenerator ?? []).length > 0)
        problems.push(`${rel(file)}: secretGenerator commits secret values`);
      const refs = [
        ...(k.resources ?? []),
        ...(k.components ?? []),
        ...(k.patchesStrategicMerge ?? []),
        ...(k.patches ?? []).flatMap((p) => (p.path ? [p.path] : [])),
        ...(k.patchesJson6902 ?? []).flatMap((p) => (p.path ? [p.path] : [])),
        ...(k.configMapGenerator ?? []).flatMap((g) => [
          ...(g.files ?? []),
          ...(g.envs ?? []),
          ...(g.env ? [g.env] : []),
        ]),
      ];
      for (const ref of refs) {
        if (/^[a-z]+:\/\/|^github\.com\//i.test(ref)) {
          problems.push(`${rel(file)}: remote resource ${ref}`);
          continue;
        }
        const target = resolve(dir, ref.replace(/^[^=]+=/, ''));
        if (!existsSync(target)) problems.push(`${rel(file)}: ${ref} does not exist`);
        else if (statSync(target).isDirectory()) {
          if (!['kustomization.yaml', 'kustomization.yml'].some((f) => existsSync(join(target, f))))
            problems.push(`${rel(file)}: ${ref} has no kustomization.yaml`);
        } else referenced.add(target);
      }
    }
    for (const file of manifestFiles)
      if (!referenced.has(file)) problems.push(`${rel(file)} is listed by no kustomization`);
    expect(problems).toEqual([]);
  });

  it('commit no Secret and no secret value', () => {
    // The files as written, and the ConfigMaps every kustomization generates from its .env files.
    const generated = kustomizations.flatMap(({ file }) =>
      resourcesOf(dirname(file)).filter((d) => d.file === rel(file)),
    );
    expect(generated.length).toBeGreaterThan(0);
    expect(secretProblems([...docs, ...generated])).toEqual([]);
    const secretRefs = new Set(
      workloads(base.map((d) => d.manifest)).flatMap((w) => [
        ...secretsReferenced(workloadSpec(w)!.template.spec),
      ]),
    );
    expect([...secretRefs].sort()).toEqual(
      [
        ...Object.values(SECRETS).map((secret) => secret.name),
        ...Object.entries(SERVICES)
          .filter(([, row]) => row.identity)
          .map(([name]) => identitySecret(name)),
        ...Object.keys(SERVICES).flatMap(credentialSecrets),
      ].sort(),
    );
  });

  it('deploy each service on its port, with probes, pod security, drain and least-privilege Secrets', () => {
    const problems = serviceProblems(base.map((d) => d.manifest));
    expect(problems).toEqual([]);
    const namespaces = byKind(
      base.map((d) => d.manifest),
      'Namespace',
    );
    expect(namespaces.map((n) => n.metadata?.name)).toEqual(['meterkeep']);
  });

  it('set only variables a service reads, all it requires, and values its config accepts', async () => {
    expect(
      configProblems(
        base.map((d) => d.manifest),
        await serviceConfigs(),
      ),
    ).toEqual([]);
  });

  it('run telemetry-ingest as a StatefulSet whose pod name is TELEMETRY_INSTANCE_ID', () => {
    const all = base.map((d) => d.manifest);
    const [workload] = workloads(all, 'telemetry-ingest');
    expect(workload?.kind).toBe('StatefulSet');
    const env = serviceContainer('telemetry-ingest', workloadSpec(workload))?.env ?? [];
    expect(env.find((e) => e.name === 'TELEMETRY_INSTANCE_ID')?.valueFrom).toEqual({
      fieldRef: { fieldPath: 'metadata.name' },
    });
  });

  it('name each pod, its namespace and node to telemetry from the downward API (K8S_*)', () => {
    const all = base.map((d) => d.manifest);
    const expected = {
      K8S_POD_NAME: 'metadata.name',
      K8S_POD_UID: 'metadata.uid',
      K8S_NAMESPACE_NAME: 'metadata.namespace',
      K8S_NODE_NAME: 'spec.nodeName',
    };
    for (const name of Object.keys(SERVICES)) {
      const env = serviceContainer(name, workloadSpec(workloads(all, name)[0]))?.env ?? [];
      const given = Object.fromEntries(
        env.filter((e) => e.name in expected).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]),
      );
      expect(given, name).toEqual(expected);
    }
  });

  it('refuse an Ingress that routes /internal/, or device TLS without passthrough', () => {
    const ingress = (
      name: string,
      path: string,
      service: string,
      port: string,
      passthrough = false,
      pathType = 'Prefix',
    ): Manifest => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, ...(passthrough && { annotations: { [SSL_PASSTHROUGH]: 'true' } }) },
      spec: {
        rules: [
          {
            host: `${name}.example`,
            http: {
              paths: [{ path, pathType, backend: { service: { name: service, port: { name: port } } } }],
            },
          },
        ],
      },
    });
    const refused = [
      ingress('internal-direct', '/internal/v1/psk-proofs', 'enrollment', 'http'),
      ingress('internal-any', '/internal', 'ota-distributor', 'http'),
      ingress('catch-all-enrollment', '/', 'enrollment', 'http'),
      ingress('catch-all-privacy', '/', 'privacy', 'http'),
      ingress('prefix-bootstrap', '/int', 'bootstrap', 'http', false, 'ImplementationSpecific'),
      ingress('passthrough-plain', '/', 'bootstrap', 'http', true),
      ingress('telemetry-terminated', '/', 'telemetry-ingest', DEVICE_TLS),
      ingress('privacy-internal', '/v1/', 'privacy', INTERNAL),
    ];
    for (const m of refused) expect(ingressProblems([m]), m.metadata?.name).not.toEqual([]);
    const allowed = [
      ingress('bootstrap-devices', '/', 'bootstrap', DEVICE_TLS, true),
      ingress('telemetry-devices', '/', 'telemetry-ingest', DEVICE_TLS, true),
      ingress('enrollment-api', '/v1/', 'enrollment', 'http'),
      ingress('privacy-api', '/v1/occupancies', 'privacy', 'http'),
      // Prefix matches whole path elements: /int is not a prefix of /internal/.
      ingress('bootstrap-int', '/int', 'bootstrap', 'http'),
    ];
    expect(allowed.flatMap((m) => ingressProblems([m]))).toEqual([]);
    expect(ingressProblems(docs.map((d) => d.manifest))).toEqual([]);
    // The example Ingress in k8s/README.md passes too.
    const readme = readFileSync(join(k8sDir, 'README.md'), 'utf8');
    const examples = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap((m) =>
      parseYaml(m[1]!, 'k8s/README.md'),
    );
    expect(ingressProblems(examples)).toEqual([]);
  });

  const kubectl = kubectlAvailable();
  // Components (k8s/components) render only inside an overlay: tools/k8s-schemas.spec.ts renders each
  // combination of them.
  // k8s/jobs/ holds one-off Jobs run beside the platform (the admin CLI): no services of their own.
  const isJob = (dir: string) => rel(dir).startsWith('k8s/jobs/');
  const kustomized = kustomizations.filter((k) => k.k.kind !== 'Component').map((k) => dirname(k.file));
  const targets = kustomized.filter((dir) => !isJob(dir));
  it.skipIf(!kubectl).each(kustomized.filter(isJob).map((dir) => rel(dir)))(
    'render with kustomize: %s (a Job beside the platform, its secrets by reference only)',
    (dir) => {
      const rendered = render(join(root, dir));
      expect(rendered.some((m) => m.kind === 'Job')).toBe(true);
      expect(secretProblems(rendered.map((manifest) => ({ file: dir, manifest })))).toEqual([]);
      const outside = rendered.filter((m) => m.metadata?.namespace !== 'meterkeep');
      expect(outside.map((m) => `${m.kind}/${m.metadata?.name}`)).toEqual([]);
    },
  );
  it.skipIf(!kubectl).each(targets.map((dir) => rel(dir)))('render with kustomize: %s', async (dir) => {
    const rendered = render(join(root, dir));
    expect(serviceProblems(rendered)).toEqual([]);
    expect(configProblems(rendered, await serviceConfigs())).toEqual([]);
    expect(secretProblems(rendered.map((manifest) => ({ file: dir, manifest })))).toEqual([]);
    const outside = rendered.filter((m) => m.kind !== 'Namespace' && m.metadata?.namespace !== 'meterkeep');
    expect(outside.map((m) => `${m.kind}/${m.metadata?.name}`)).toEqual([]);
    if (dir.includes('overlays')) {
      for (const d of workloads(rendered)) {
        const spec = workloadSpec(d)!;
        expect(spec.replicas ?? 1, `${d.metadata?.name} replicas`).toBeGreaterThanOrEqual(2);
        for (const c of spec.template.spec.containers)
          expect(c.image, `${d.metadata?.name} image`).toMatch(
            /^[^\s]+\/[^\s]+(:(?!latest$)[\w.-]+|@sha256:[0-9a-f]{64})$/,
          );
      }
    }
  });
});

describe('service image (deploy/docker)', () => {
  const dockerfile = readFileSync(join(root, 'deploy/docker/Dockerfile'), 'utf8');
  /** Instructions with continuation lines joined and comments dropped. */
  const instructions = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [, keyword = '', rest = ''] = /^(\w+)\s*(.*)$/.exec(line) ?? [];
      return { keyword: keyword.toUpperCase(), rest };
    });
  const stages: { from: string; body: typeof instructions }[] = [];
  const globalArgs = new Map<string, string>();
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') stages.push({ from: instruction.rest, body: [] });
    else if (stages.length > 0) stages.at(-1)!.body.push(instruction);
    else if (instruction.keyword === 'ARG') {
      const [name = '', value = ''] = instruction.rest.split('=');
      globalArgs.set(name.trim(), value.trim());
    }
  }
  const final = stages.at(-1)!;
  const image = (from: string) =>
    from
      .split(/\s+/)[0]!
      .replace(/\$\{?(\w+)\}?/g, (_, name: string) => globalArgs.get(name) ?? `\${${name}}`);

  it('builds and runs on node:24-bookworm-slim in at least two stages', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(image(stage.from)).toBe('node:24-bookworm-slim');
  });

  it('runs the final stage as a numeric non-root user', () => {
    const user = final.body.filter((i) => i.keyword === 'USER').at(-1)?.rest;
    expect(user, 'the final stage sets no USER').toBeDefined();
    // Numeric, so Kubernetes runAsNonRoot can verify it without knowing the image's /etc/passwd.
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user!.split(':')[0])).not.toBe(0);
  });

  it('carries no secret in ARG or ENV, and copies only built output into the final stage', () => {
    const problems: string[] = [];
    for (const { keyword, rest } of [...instructions]) {
      if (keyword !== 'ARG' && keyword !== 'ENV') continue;
      const names =
        keyword === 'ARG' ? [rest.split('=')[0]!] : [...rest.matchAll(/(\w+)(?:=|\s)/g)].map((m) => m[1]!);
      for (const name of names) if (SECRET_LIKE.test(name)) problems.push(`${keyword} ${name}`);
    }
    expect(problems).toEqual([]);
    const copies = final.body.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD').map((i) => i.rest);
    expect(copies.filter((c) => /(^|\s)\.\/?\s/.test(c) && !c.includes('--from='))).toEqual([]);
    expect(final.body.filter((i) => i.keyword === 'RUN' && /npm (ci|install)/.test(i.rest))).toEqual([]);
  });

  it('carries the root package.json beside dist/, where telemetry reads service.version', () => {
    // meterkeepVersion() walks up from dist/libs/config to the package named meterkeep: /app/package.json.
    const workdir = final.body.filter((i) => i.keyword === 'WORKDIR').at(-1)?.rest;
    expect(workdir).toBe('/app');
    const copies = final.body.filter((i) => i.keyword === 'COPY').map((i) => i.rest.split(/\s+/));
    expect(
      copies.some(
        (c) => c.at(-2)?.endsWith('/package.json') && /^(\.\/|\/app\/)package\.json$/.test(c.at(-1)!),
      ),
    ).toBe(true);
    expect(copies.some((c) => c.at(-2)?.endsWith('/dist') && /^(\.\/|\/app\/)dist$/.test(c.at(-1)!))).toBe(
      true,
    );
  });

  it('starts node as PID 1 with source maps, in production mode', () => {
    const entrypoint = final.body.filter((i) => i.keyword === 'ENTRYPOINT').at(-1)?.rest ?? '';
    // Exec form: no shell between the kernel and node, which would swallow SIGTERM.
    expect(entrypoint, 'ENTRYPOINT must be in exec form (a JSON array)').toMatch(/^\[.*\]$/);
    const argv = JSON.parse(entrypoint) as string[];
    expect(argv[0]).toBe('node');
    expect(argv).toContain('--enable-source-maps');
    expect(final.body.some((i) => i.keyword === 'ENV' && /\bNODE_ENV=production\b/.test(i.rest))).toBe(true);
  });

  it('keeps dependencies, build output and local secrets out of the build context', () => {
    const ignore = readFileSync(join(root, 'deploy/docker/Dockerfile.dockerignore'), 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    // An allow-list: everything is out unless re-included, and these stay out inside re-included folders.
    expect(ignore[0]).toBe('*');
    for (const pattern of ['**/node_modules', '**/dist', '**/.env', '**/.env.*', '**/*.key.pem'])
      expect(ignore).toContain(pattern);
    expect(ignore.filter((l) => /^!\.(git|local-stack|env)/.test(l))).toEqual([]);
  });

  it('has an entry point that knows the five services and refuses any other name', () => {
    const entry = join(root, 'deploy/docker/entry.mjs');
    const listed = /SERVICES\s*=\s*\[([^\]]*)\]/.exec(readFileSync(entry, 'utf8'))?.[1] ?? '';
    expect([...listed.matchAll(/'([\w-]+)'/g)].map((m) => m[1]).sort()).toEqual(Object.keys(SERVICES).sort());
    for (const name of ['bogus', '../../../tools/build']) {
      const run = spawnSync(process.execPath, [entry, name], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH },
      });
      expect(run.status).toBe(64);
      expect(run.stderr).toMatch(/unknown service/);
    }
  });
});
