// Renders the Kubernetes manifests as a platform team would apply them (base, the production overlay, and
// the overlay with every combination of the opt-in components in k8s/components) with kustomize, and
// validates every rendered object against the API's JSON schemas: Kubernetes, Gateway API, Prometheus
// Operator and External Secrets, offline. The schemas are the validators the kubernetes-models packages
// compile from the upstream OpenAPI documents and CRDs (npm devDependencies; no network at test time).
// Rendering uses `kubectl kustomize` (kustomize v5 built in); without kubectl those checks skip.
// Beside the schemas it checks what the components promise: autoscalers and monitors find their
// targets, device routes pass TLS through to device-tls only, no route reaches /internal/ or an
// internal port, egress admits each service's internal calls, the overlay's namespaces land everywhere.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import * as coreV1 from 'kubernetes-models/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as gatewayV1 from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';
import * as gatewayV1alpha2 from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1alpha2';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as externalSecretsV1 from '@kubernetes-models/external-secrets/external-secrets.io/v1';

const root = resolve(__dirname, '..');
const k8sDir = join(root, 'k8s');
const componentsDir = join(k8sDir, 'components');
const productionDir = join(k8sDir, 'overlays', 'production');

// ---- the schemas -------------------------------------------------------------------------------------

interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}
interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: unknown): { validate(): void };
}

/** Every model of the given API modules, by `apiVersion kind`. */
function registry(...modules: Record<string, unknown>[]): Map<string, ModelClass> {
  const models = new Map<string, ModelClass>();
  for (const module of modules)
    for (const value of Object.values(module)) {
      const model = value as Partial<ModelClass> | undefined;
      if (
        typeof value === 'function' &&
        typeof model?.apiVersion === 'string' &&
        typeof model.kind === 'string'
      )
        models.set(`${model.apiVersion} ${model.kind}`, value as unknown as ModelClass);
    }
  return models;
}

const MODELS = registry(
  coreV1,
  appsV1,
  autoscalingV2,
  batchV1,
  networkingV1,
  policyV1,
  rbacV1,
  gatewayV1,
  gatewayV1alpha2,
  monitoringV1,
  externalSecretsV1,
);

const label = (o: K8sObject) => `${o.kind ?? '?'}/${o.metadata?.name ?? '?'}`;

/** What the API server would refuse in this object by its schema; empty when it conforms. */
function schemaProblems(object: K8sObject): string[] {
  if (!object.apiVersion || !object.kind) return [`${label(object)}: no apiVersion or kind`];
  const Model = MODELS.get(`${object.apiVersion} ${object.kind}`);
  if (!Model) return [`${label(object)}: no schema for ${object.apiVersion} ${object.kind}`];
  if (!object.metadata?.name) return [`${label(object)}: no metadata.name`];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return [`${label(object)} (${object.apiVersion}): ${(error as Error).message}`];
  }
}

// ---- rendering ---------------------------------------------------------------------------------------

const COMPONENTS = readdirSync(componentsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

/** Every subset of the components, the empty one first. */
const combinations = (names: string[]): string[][] =>
  names.reduce<string[][]>((sets, name) => [...sets, ...sets.map((set) => [...set, name])], [[]]);

function kubectlAvailable(): boolean {
  return spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
}

function render(dir: string): Promise<K8sObject[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('kubectl', ['kustomize', dir]);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`kubectl kustomize ${dir} failed: ${err}`));
      const objects = parseAllDocuments(out)
        .map((doc) => doc.toJSON() as K8sObject | null)
        .filter((o): o is K8sObject => o !== null);
      resolvePromise(objects);
    });
  });
}

const scratch = mkdtempSync(join(tmpdir(), 'meterkeep-k8s-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let scratchCount = 0;

interface KustomizationFile {
  resources?: string[];
  components?: string[];
  [key: string]: unknown;
}

/**
 * A copy of an overlay (its files beside its kustomization) in a scratch directory, its directory
 * references pointing back into k8s/, with `components` added as a team would list them there.
 * `edit` changes the copied files first (a test of the overlay's settings).
 */
function overlayWith(
  overlayDir: string,
  components: string[],
  edit: (dir: string) => void = () => undefined,
): string {
  const dir = join(scratch, `overlay-${scratchCount++}`);
  cpSync(overlayDir, dir, { recursive: true });
  const file = join(dir, 'kustomization.yaml');
  const k = parse(readFileSync(file, 'utf8')) as KustomizationFile;
  const back = (ref: string) => (ref.startsWith('.') ? relative(dir, resolve(overlayDir, ref)) : ref);
  k.resources = (k.resources ?? []).map(back);
  k.components = [
    ...(k.components ?? []).map(back),
    ...components.map((name) => relative(dir, join(componentsDir, name))),
  ];
  writeFileSync(file, stringify(k));
  edit(dir);
  return dir;
}

/** Runs the jobs at most `limit` at a time (the machine has two cores). */
async function pooled<T>(jobs: (() => Promise<T>)[], limit = 2): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, jobs.length) }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]!();
      }
    }),
  );
  return results;
}

// ---- what the components promise ----------------------------------------------------------------------

interface Port {
  name?: string;
  port?: number;
  containerPort?: number;
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec?: {
    containers?: { name: string; ports?: Port[]; env?: { name: string; value?: string }[] }[];
  };
}
interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

const byKind = (all: K8sObject[], kind: string) => all.filter((o) => o.kind === kind);
const workloads = (all: K8sObject[]) =>
  all.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
const template = (w: K8sObject) => (w.spec?.template ?? {}) as PodTemplate;

function selects(selector: Selector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  const matchLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v);
  const expressions = (selector.matchExpressions ?? []).every((e) => {
    const value = labels?.[e.key];
    if (e.operator === 'In') return value !== undefined && (e.values ?? []).includes(value);
    if (e.operator === 'NotIn') return value === undefined || !(e.values ?? []).includes(value);
    if (e.operator === 'Exists') return value !== undefined;
    return value === undefined; // DoesNotExist
  });
  return matchLabels && expressions;
}

/** A Service's port by number, with the container port (and its name) it leads to. */
function servicePort(all: K8sObject[], service: string, port: number | undefined) {
  const svc = all.find((o) => o.kind === 'Service' && o.metadata?.name === service);
  const p = ((svc?.spec?.ports ?? []) as Port[]).find((sp) => sp.port === port);
  return p && { name: p.name };
}

/** The invariants of the components' objects in one rendering; empty when all hold. */
function componentProblems(all: K8sObject[]): string[] {
  const problems: string[] = [];
  const names = new Set(workloads(all).map((w) => `${w.kind}/${w.metadata?.name}`));

  for (const hpa of byKind(all, 'HorizontalPodAutoscaler')) {
    const ref = hpa.spec?.scaleTargetRef as { kind?: string; name?: string } | undefined;
    if (!names.has(`${ref?.kind}/${ref?.name}`))
      problems.push(`${label(hpa)}: scales ${ref?.kind}/${ref?.name}, which is not rendered`);
    const target = workloads(all).find((w) => w.kind === ref?.kind && w.metadata?.name === ref?.name);
    const containers = target ? (template(target).spec?.containers ?? []) : [];
    // CPU utilisation is a share of the request: without one the autoscaler has nothing to compute.
    for (const c of containers as { name: string; resources?: { requests?: { cpu?: string } } }[])
      if (!c.resources?.requests?.cpu) problems.push(`${label(hpa)}: container ${c.name} has no CPU request`);
    if (Number(hpa.spec?.minReplicas ?? 1) > Number(hpa.spec?.maxReplicas))
      problems.push(`${label(hpa)}: minReplicas above maxReplicas`);
  }

  for (const monitor of byKind(all, 'ServiceMonitor')) {
    const selector = monitor.spec?.selector as Selector | undefined;
    if (!byKind(all, 'Service').some((s) => selects(selector, s.metadata?.labels)))
      problems.push(`${label(monitor)}: selects no Service`);
    const endpoints = (monitor.spec?.endpoints ?? []) as { port?: string }[];
    if (endpoints.length === 0 || endpoints.some((e) => e.port !== 'metrics'))
      problems.push(`${label(monitor)}: scrapes a port not named "metrics"`);
  }

  for (const route of byKind(all, 'TLSRoute')) {
    const rules = (route.spec?.rules ?? []) as { backendRefs?: { name?: string; port?: number }[] }[];
    for (const ref of rules.flatMap((r) => r.backendRefs ?? [])) {
      // Passthrough routes a whole host, unterminated: only to a listener that terminates mutual TLS.
      if (servicePort(all, ref.name ?? '', ref.port)?.name !== 'device-tls')
        problems.push(
          `${label(route)}: passes TLS through to ${ref.name}:${ref.port}, not a device-tls port`,
        );
    }
  }

  for (const route of byKind(all, 'HTTPRoute')) {
    const rules = (route.spec?.rules ?? []) as {
      matches?: { path?: { type?: string; value?: string } }[];
      backendRefs?: { name?: string; port?: number }[];
    }[];
    for (const rule of rules) {
      const paths = (rule.matches ?? [{}]).map((m) => m.path ?? { type: 'PathPrefix', value: '/' });
      for (const path of paths) {
        const value = path.value ?? '/';
        // The internal routes live under /internal/: a route to `/` (or any prefix of it) reaches them.
        if (/^\/internal/i.test(value) || (path.type !== 'Exact' && '/internal/'.startsWith(value)))
          problems.push(`${label(route)}: ${path.type} ${value} reaches /internal/`);
      }
      for (const ref of rule.backendRefs ?? []) {
        const port = servicePort(all, ref.name ?? '', ref.port);
        if (!port) problems.push(`${label(route)}: ${ref.name}:${ref.port} is no Service port`);
        else if (port.name !== 'http')
          problems.push(`${label(route)}: routes ${ref.name}'s ${port.name} port`);
      }
    }
  }

  // With egress restricted, each *_INTERNAL_URL a service calls is admitted by a policy on its pods.
  const egress = byKind(all, 'NetworkPolicy').filter((np) =>
    ((np.spec?.policyTypes ?? []) as string[]).includes('Egress'),
  );
  if (egress.length > 0) {
    for (const caller of workloads(all)) {
      const labels = template(caller).metadata?.labels;
      const rules = egress
        .filter((np) => selects(np.spec?.podSelector as Selector, labels))
        .flatMap((np) => (np.spec?.egress ?? []) as { to?: { podSelector?: Selector }[]; ports?: Port[] }[]);
      const env = template(caller).spec?.containers?.[0]?.env ?? [];
      for (const variable of env.filter((e) => e.name.endsWith('_INTERNAL_URL'))) {
        const url = new URL(variable.value ?? '');
        const callee = workloads(all).find((w) => w.metadata?.name === url.hostname);
        const admitted = rules.some(
          (rule) =>
            (rule.ports ?? []).some((p) => p.port === Number(url.port)) &&
            (rule.to ?? []).some((peer) =>
              selects(peer.podSelector, template(callee ?? {}).metadata?.labels),
            ),
        );
        if (!admitted)
          problems.push(
            `${caller.metadata?.name}: no egress policy admits ${variable.name} (${variable.value})`,
          );
      }
    }
  }

  // ExternalSecrets fill only Secrets the workloads use.
  const used = new Set(
    workloads(all).flatMap((w) => {
      const text = JSON.stringify(w.spec);
      return [...text.matchAll(/"(?:secretName|name)":"(meterkeep-[a-z0-9-]+)"/g)].map((m) => m[1]!);
    }),
  );
  for (const es of byKind(all, 'ExternalSecret')) {
    const target = (es.spec?.target as { name?: string } | undefined)?.name ?? es.metadata?.name ?? '';
    if (!used.has(target)) problems.push(`${label(es)}: fills Secret ${target}, which no workload uses`);
  }

  const outside = all.filter((o) => o.kind !== 'Namespace' && o.metadata?.namespace !== 'meterkeep');
  for (const o of outside) problems.push(`${label(o)}: not in namespace meterkeep`);
  return problems;
}

// ---- tests -------------------------------------------------------------------------------------------

const kubectl = kubectlAvailable();

describe('k8s manifests against the API schemas', () => {
  // Where kubectl is missing the rendering checks skip, as in k8s-manifests.spec.ts; CI's machines
  // have it, and there they must run.
  it.runIf(process.env.CI === 'true')('has kubectl (kustomize) to render with, in CI', () => {
    expect(kubectl, 'install kubectl: the manifests are rendered with `kubectl kustomize`').toBe(true);
  });

  it('knows the kinds the components use, and finds a wrong object in each', () => {
    const valid: K8sObject[] = [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'ok' },
        spec: {
          selector: { matchLabels: { a: 'b' } },
          template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
        },
      },
      {
        apiVersion: 'gateway.networking.k8s.io/v1alpha2',
        kind: 'TLSRoute',
        metadata: { name: 'ok' },
        spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'svc', port: 8443 }] }] },
      },
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'ok' },
        spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ok' }, maxReplicas: 3 },
      },
    ];
    for (const o of valid) expect(schemaProblems(o), label(o)).toEqual([]);

    const wrong: [K8sObject, RegExp][] = [
      // A string where the API takes an integer.
      [{ ...valid[0]!, spec: { ...valid[0]!.spec, replicas: 'three' } }, /replicas must be integer/],
      // A Deployment without its required selector.
      [
        { ...valid[0]!, spec: { template: valid[0]!.spec!.template } },
        /must have required property selector/,
      ],
      // A Service port out of the API's type.
      [
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' }, spec: { ports: [{ port: 'http' }] } },
        /port must be integer/,
      ],
      // A NetworkPolicy whose peers are not a list.
      [
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'x' },
          spec: { podSelector: {}, egress: [{ to: 'everywhere' }] },
        },
        /to must be array/,
      ],
      // Gateway API: a backend port by name (the API takes a number), a path match type it does not know.
      [
        {
          ...valid[1]!,
          spec: {
            parentRefs: [{ name: 'gw' }],
            rules: [{ backendRefs: [{ name: 'svc', port: 'device-tls' }] }],
          },
        },
        /port must be integer/,
      ],
      [
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { name: 'x' },
          spec: { rules: [{ matches: [{ path: { type: 'Prefix', value: '/v1' } }] }] },
        },
        /must be equal to one of the allowed values/,
      ],
      // Prometheus Operator: endpoints must be a list.
      [
        {
          apiVersion: 'monitoring.coreos.com/v1',
          kind: 'ServiceMonitor',
          metadata: { name: 'x' },
          spec: { selector: {}, endpoints: { port: 'metrics' } },
        },
        /endpoints must be array/,
      ],
      // External Secrets v1: the remote reference needs its key.
      [
        {
          apiVersion: 'external-secrets.io/v1',
          kind: 'ExternalSecret',
          metadata: { name: 'x' },
          spec: { data: [{ secretKey: 'password', remoteRef: {} }] },
        },
        /must have required property key/,
      ],
      // An HPA without the workload it scales.
      [{ ...valid[2]!, spec: { maxReplicas: 3 } }, /must have required property scaleTargetRef/],
      // A kind or version the API does not serve (a typo, a retired beta).
      [{ ...valid[0]!, apiVersion: 'apps/v1beta1' }, /no schema for apps\/v1beta1 Deployment/],
      [{ ...valid[1]!, kind: 'TLSRoutes' }, /no schema/],
    ];
    for (const [object, expected] of wrong) {
      const problems = schemaProblems(object);
      expect(problems.join('\n'), label(object)).toMatch(expected);
    }
  });

  it.skipIf(!kubectl)(
    'finds a broken manifest in a rendered overlay',
    async () => {
      // An overlay whose patch makes the grace period a string: kustomize renders it, the schema refuses it.
      const dir = overlayWith(productionDir, [], (d) => {
        writeFileSync(
          join(d, 'broken.yaml'),
          stringify([
            { op: 'replace', path: '/spec/template/spec/terminationGracePeriodSeconds', value: 'thirty' },
          ]),
        );
        const file = join(d, 'kustomization.yaml');
        const k = parse(readFileSync(file, 'utf8')) as KustomizationFile & { patches?: unknown[] };
        k.patches = [
          ...(k.patches ?? []),
          { path: 'broken.yaml', target: { kind: 'Deployment', name: 'enrollment' } },
        ];
        writeFileSync(file, stringify(k));
      });
      const problems = (await render(dir)).flatMap(schemaProblems);
      expect(problems).toEqual([
        expect.stringMatching(/^Deployment\/enrollment .*terminationGracePeriodSeconds must be integer/),
      ]);
    },
    30_000,
  );

  it.skipIf(!kubectl)(
    'renders base, the production overlay and every combination of components, each object valid',
    async () => {
      const cases: { name: string; dir: string }[] = [
        { name: 'base', dir: join(k8sDir, 'base') },
        { name: 'base + all components', dir: overlayWith(join(k8sDir, 'base'), COMPONENTS) },
        ...combinations(COMPONENTS).map((set) => ({
          name: `production${set.map((c) => ` + ${c}`).join('')}`,
          dir: overlayWith(productionDir, set),
        })),
      ];
      expect(COMPONENTS).toEqual([
        'egress-policy',
        'external-secrets',
        'gateway-api',
        'hpa',
        'service-monitor',
      ]);
      expect(cases).toHaveLength(2 + 2 ** COMPONENTS.length);
      const results = await pooled(
        cases.map(({ name, dir }) => async () => {
          const all = await render(dir);
          const kinds = new Set(all.map((o) => o.kind));
          return {
            name,
            kinds,
            problems: [...all.flatMap(schemaProblems), ...componentProblems(all)].map((p) => `${name}: ${p}`),
          };
        }),
      );
      expect(results.flatMap((r) => r.problems)).toEqual([]);
      // Every component adds what it is for.
      const full = results.find((r) => r.name === `production${COMPONENTS.map((c) => ` + ${c}`).join('')}`)!;
      for (const kind of [
        'HorizontalPodAutoscaler',
        'ServiceMonitor',
        'TLSRoute',
        'HTTPRoute',
        'ExternalSecret',
      ])
        expect(full.kinds, kind).toContain(kind);
    },
    120_000,
  );

  it.skipIf(!kubectl)(
    'writes the overlay’s namespaces and gateway wherever they are used',
    async () => {
      const values = {
        ingressNamespace: 'edge-gw',
        gatewayName: 'utility-gateway',
        gatewayNamespace: 'edge-gw',
        monitoringNamespace: 'prom',
        kafkaNamespace: 'streams',
        postgresNamespace: 'pg',
        redisNamespace: 'cache',
        objectStoreNamespace: 'objects',
        otelCollectorNamespace: 'otel',
      };
      const dir = overlayWith(productionDir, COMPONENTS, (d) => {
        const file = join(d, 'edge.yaml');
        const edge = parse(readFileSync(file, 'utf8')) as { data: Record<string, string> };
        expect(Object.keys(edge.data).sort()).toEqual(Object.keys(values).sort());
        edge.data = values;
        writeFileSync(file, stringify(edge));
      });
      const all = await render(dir);
      expect(
        all.find((o) => o.metadata?.name === 'meterkeep-edge'),
        'local-config is not applied',
      ).toBeUndefined();
      const policies = new Map(byKind(all, 'NetworkPolicy').map((np) => [np.metadata!.name!, np]));
      const nsOf = (name: string, direction: 'ingress' | 'egress') => {
        const rules = (policies.get(name)?.spec?.[direction] ?? []) as Record<string, Selector[]>[];
        const peers = rules[0]?.[direction === 'ingress' ? 'from' : 'to'] ?? [];
        return (peers[0] as { namespaceSelector?: Selector } | undefined)?.namespaceSelector?.matchLabels?.[
          'kubernetes.io/metadata.name'
        ];
      };
      for (const service of ['enrollment', 'bootstrap', 'telemetry-ingest', 'ota-distributor', 'privacy'])
        expect(nsOf(`${service}-allow-ingress`, 'ingress'), service).toBe(values.ingressNamespace);
      expect(nsOf('allow-metrics-scrape', 'ingress')).toBe(values.monitoringNamespace);
      expect(nsOf('allow-kafka-egress', 'egress')).toBe(values.kafkaNamespace);
      expect(nsOf('allow-postgres-egress', 'egress')).toBe(values.postgresNamespace);
      expect(nsOf('allow-redis-egress', 'egress')).toBe(values.redisNamespace);
      expect(nsOf('allow-object-store-egress', 'egress')).toBe(values.objectStoreNamespace);
      expect(nsOf('allow-otel-collector-egress', 'egress')).toBe(values.otelCollectorNamespace);
      const parents = [...byKind(all, 'TLSRoute'), ...byKind(all, 'HTTPRoute')].flatMap(
        (r) => (r.spec?.parentRefs ?? []) as { name?: string; namespace?: string }[],
      );
      // The three device listeners' TLSRoutes and the operator APIs' HTTPRoute.
      expect(parents.length).toBe(4);
      for (const parent of parents)
        expect(parent).toMatchObject({ name: values.gatewayName, namespace: values.gatewayNamespace });
      // Nothing in the rendering still names the examples' namespaces.
      expect(JSON.stringify(all)).not.toMatch(/"(gateway-system|monitoring|observability|minio)"/);
    },
    30_000,
  );

  it.skipIf(!kubectl)(
    'refuses component objects that break what the components promise',
    async () => {
      const all = await render(overlayWith(productionDir, COMPONENTS));
      expect(componentProblems(all)).toEqual([]);
      const change = (kind: string, name: string, edit: (o: K8sObject) => void) => {
        const copy = JSON.parse(JSON.stringify(all)) as K8sObject[];
        edit(copy.find((o) => o.kind === kind && o.metadata?.name === name)!);
        return componentProblems(copy);
      };
      const route = (o: K8sObject) => (o.spec!.rules as { backendRefs: { port: number }[] }[])[0]!;
      expect(
        change('TLSRoute', 'bootstrap-device-tls', (o) => (route(o).backendRefs[0]!.port = 3002)),
      ).toEqual([expect.stringMatching(/not a device-tls port/)]);
      expect(
        change('HTTPRoute', 'operator-api', (o) => {
          (o.spec!.rules as { matches: { path: { value: string } }[] }[])[0]!.matches[0]!.path.value = '/';
        }),
      ).toEqual([expect.stringMatching(/PathPrefix \/ reaches \/internal\//)]);
      expect(change('HTTPRoute', 'operator-api', (o) => (route(o).backendRefs[0]!.port = 3101))).toEqual([
        expect.stringMatching(/routes enrollment's internal port/),
      ]);
      expect(
        change('NetworkPolicy', 'telemetry-ingest-allow-internal-egress', (o) => {
          (o.spec!.egress as unknown[]).pop();
        }),
      ).toEqual([expect.stringMatching(/telemetry-ingest: no egress policy admits PRIVACY_INTERNAL_URL/)]);
      expect(
        change(
          'HorizontalPodAutoscaler',
          'privacy',
          (o) => ((o.spec!.scaleTargetRef as { name: string }).name = 'x'),
        ),
      ).toEqual([expect.stringMatching(/scales Deployment\/x, which is not rendered/)]);
      expect(
        change('ServiceMonitor', 'privacy', (o) => ((o.spec!.selector as Selector).matchLabels = { a: 'b' })),
      ).toEqual([expect.stringMatching(/selects no Service/)]);
      expect(
        change(
          'ExternalSecret',
          'meterkeep-db',
          (o) => ((o.spec!.target as { name: string }).name = 'meterkeep-x'),
        ),
      ).toEqual([expect.stringMatching(/fills Secret meterkeep-x, which no workload uses/)]);
    },
    30_000,
  );

  it.skipIf(!kubectl)(
    'renders the admin CLI Job example to valid objects: the key from a Secret file, the CLI the image carries',
    async () => {
      const objects = await render(join(k8sDir, 'jobs', 'admin-cli'));
      expect(objects.flatMap(schemaProblems)).toEqual([]);
      const job = objects.find((o) => o.kind === 'Job') as unknown as {
        metadata: { namespace: string };
        spec: { backoffLimit: number; template: { spec: Record<string, unknown> } };
      };
      expect(job.metadata.namespace).toBe('meterkeep');
      expect(job.spec.backoffLimit).toBe(0);
      const pod = job.spec.template.spec as {
        containers: {
          command: string[];
          env: { name: string; value?: string; valueFrom?: unknown }[];
          volumeMounts: { name: string; mountPath: string }[];
        }[];
        volumes: { name: string; secret?: { secretName: string } }[];
      };
      const [container] = pod.containers;
      // The image's dist/ is built from apps/: the CLI's entry must be there.
      const entry = container!.command.find((word) => word.startsWith('/app/dist/'))!;
      expect(existsSync(join(root, entry.replace('/app/dist/', '').replace(/\.js$/, '.ts')))).toBe(true);
      const env = Object.fromEntries(container!.env.map((e) => [e.name, e.value]));
      expect(env.METERKEEP_API_KEY).toBeUndefined();
      const mount = container!.volumeMounts.find((m) =>
        env.METERKEEP_API_KEY_FILE?.startsWith(`${m.mountPath}/`),
      );
      expect(pod.volumes.find((v) => v.name === mount?.name)?.secret?.secretName).toBe(
        'meterkeep-admin-api-key',
      );
      expect(env.METERKEEP_ENROLLMENT_URL).toMatch(/^http:\/\/enrollment:3001$/);
    },
  );
});
