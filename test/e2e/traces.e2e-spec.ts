import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_LIFECYCLE, ENROLLMENT_DEVICES, PSK_BOOTSTRAP, PSK_PROOFS_CHECK } from '@meterkeep/contracts';
import {
  type Api,
  type MintedBatch,
  type ServiceProcess,
  enrollBatch,
  freePort,
  internalWiring,
  mintProvisionedBatch,
  operatorApi,
  platformEnv,
  principalEnv,
  runBuiltCli,
  stackEnvFrom,
  startServiceProcess,
  waitUntil,
} from '@meterkeep/testing';

/** OTLP's span kinds, as numbers in OTLP/JSON. */
const KIND = { SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  service: string;
}

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
};
type KeyValues = { key: string; value?: AnyValue }[] | undefined;

const valueOf = (value: AnyValue | undefined): unknown =>
  value?.stringValue ??
  (value?.intValue !== undefined ? Number(value.intValue) : undefined) ??
  value?.doubleValue ??
  value?.boolValue ??
  value?.arrayValue?.values?.map(valueOf);
const attributesOf = (list: KeyValues) =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, valueOf(value)]));

/** A collector of our own: OTLP/HTTP with JSON bodies (what the services' exporter sends), kept in memory. */
function otlpReceiver(): { spans: ReceivedSpan[]; server: Server } {
  const spans: ReceivedSpan[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      let body = Buffer.concat(chunks);
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const payload = JSON.parse(body.toString('utf8')) as {
        resourceSpans?: {
          resource?: { attributes?: KeyValues };
          scopeSpans?: {
            spans?: {
              traceId: string;
              spanId: string;
              parentSpanId?: string;
              name: string;
              kind: number;
              attributes?: KeyValues;
            }[];
          }[];
        }[];
      };
      for (const resourceSpans of payload.resourceSpans ?? []) {
        const resource = attributesOf(resourceSpans.resource?.attributes);
        for (const scope of resourceSpans.scopeSpans ?? [])
          for (const span of scope.spans ?? [])
            spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
              kind: span.kind,
              attributes: attributesOf(span.attributes),
              resource,
              service: String(resource['service.name']),
            });
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return { spans, server };
}

const dbSystem = (span: ReceivedSpan) => span.attributes['db.system.name'] ?? span.attributes['db.system'];

// enrollment and bootstrap as built, exporting their spans by OTLP to a receiver this test runs: a PSK
// meter's bootstrap request is one trace, through bootstrap's Redis and PostgreSQL, its internal call
// to enrollment (mutual TLS), and the lifecycle event enrollment consumes and records in PostgreSQL.
describe('traces: one bootstrap request is one trace across the services and their stores', () => {
  const work = mkdtempSync(join(tmpdir(), 'meterkeep-traces-'));
  const logs = mkdtempSync(join(tmpdir(), 'meterkeep-traces-logs-'));
  const runId = Date.now().toString(36).toUpperCase();
  const version = (
    JSON.parse(readFileSync(resolve(__dirname, '../../package.json'), 'utf8')) as { version: string }
  ).version;
  const receiver = otlpReceiver();
  let env: Record<string, string>;
  let enrollment: ServiceProcess;
  let bootstrap: ServiceProcess;
  let apiKey: string;
  let api: Api;
  let batch: MintedBatch;
  let meter: string;
  /** The successful PSK bootstrap's trace, once every span of it has arrived. */
  let traceSpans: ReceivedSpan[];

  const inTrace = (traceId: string) => receiver.spans.filter((span) => span.traceId === traceId);
  /** Whether `span` descends from `ancestor` within its trace. */
  const descendsFrom = (span: ReceivedSpan, ancestor: ReceivedSpan, spans: ReceivedSpan[]) => {
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    for (let at = byId.get(span.parentSpanId); at; at = byId.get(at.parentSpanId))
      if (at.spanId === ancestor.spanId) return true;
    return false;
  };
  const one = (spans: ReceivedSpan[], where: Partial<Pick<ReceivedSpan, 'service' | 'name' | 'kind'>>) => {
    const found = spans.filter((span) =>
      Object.entries(where).every(([key, value]) => span[key as keyof ReceivedSpan] === value),
    );
    expect(found, JSON.stringify(where)).toHaveLength(1);
    return found[0]!;
  };

  beforeAll(async () => {
    await new Promise<void>((done) => receiver.server.listen(0, '127.0.0.1', done));
    const otlp = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
    const stack = stackEnvFrom(process.env)!;
    const internal = await internalWiring();
    const tlsPort = await freePort();
    const bootstrapUri = `https://localhost:${tlsPort}`;
    env = platformEnv(stack, {
      BOOTSTRAP_TLS_PORT: String(tlsPort),
      BOOTSTRAP_PUBLIC_URI: bootstrapUri,
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=e2e-traces',
      K8S_NAMESPACE_NAME: 'meterkeep-e2e',
      K8S_NODE_NAME: 'node-e2e',
    });
    const start = async (name: 'enrollment' | 'bootstrap') =>
      startServiceProcess({
        name,
        port: await freePort(),
        env: { ...env, K8S_POD_NAME: `${name}-pod-e2e` },
        internal,
        logFile: join(logs, `${name}.log`),
      });
    enrollment = await start('enrollment');
    bootstrap = await start('bootstrap');
    await Promise.all([enrollment.waitReady(90_000), bootstrap.waitReady(90_000)]);

    const serverCaPem = await (await fetch(`${bootstrap.url}/bs/v1/server-ca`)).text();
    apiKey = (
      await runBuiltCli('enrollment', ['tenant', 'create', `traces-${runId.toLowerCase()}`], env)
    ).trim();
    api = operatorApi(enrollment.url, apiKey);
    batch = await mintProvisionedBatch({
      dir: join(work, 'psk'),
      count: 1,
      prefix: `TR${runId}P`,
      bootstrapUri,
      bootstrapTrustAnchorPem: serverCaPem,
      credential: 'psk',
    });
    meter = batch.endpointNames[0]!;
    await enrollBatch(api, batch, { trustCa: false });
    // meter-sim sends no trace context: bootstrap's SERVER span is the root of the trace.
    const fleet = JSON.parse(
      await runBuiltCli('meter-sim', ['fleet', 'bootstrap', '--state', batch.statesDir, '--json']),
    ) as { succeeded: number };
    expect(fleet.succeeded).toBe(1);

    traceSpans = await waitUntil(
      () => {
        const root = receiver.spans.find(
          (span) =>
            span.service === 'bootstrap' &&
            span.kind === KIND.SERVER &&
            span.name === `POST ${PSK_BOOTSTRAP.path}` &&
            span.attributes['http.response.status_code'] === 200,
        );
        if (!root) return undefined;
        const spans = inTrace(root.traceId);
        // Complete once enrollment recorded the event: the consumer's span and its PostgreSQL statements.
        const consumed = spans.find(
          (span) =>
            span.service === 'enrollment' &&
            span.kind === KIND.CONSUMER &&
            span.name === `process ${DEVICE_LIFECYCLE.name}`,
        );
        // …and its outbox relayed the registry's event (the meter ACTIVE) in the same trace.
        const relayed = spans.some(
          (span) => span.service === 'enrollment' && span.name === `send ${ENROLLMENT_DEVICES.name}`,
        );
        return consumed &&
          relayed &&
          spans.some((span) => dbSystem(span) === 'postgresql' && descendsFrom(span, consumed, spans))
          ? spans
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, description: 'the PSK bootstrap trace to arrive whole' },
    );
  }, 300_000);

  afterAll(async () => {
    await Promise.all([enrollment?.stop(), bootstrap?.stop()]);
    await new Promise((done) => receiver.server.close(done));
    rmSync(work, { recursive: true, force: true });
  });

  it('roots the trace at the meter’s request and spans both services', () => {
    const root = one(traceSpans, {
      service: 'bootstrap',
      kind: KIND.SERVER,
      name: `POST ${PSK_BOOTSTRAP.path}`,
    });
    expect(root.parentSpanId).toBe('');
    expect(root.attributes['http.route']).toBe(PSK_BOOTSTRAP.path);
    expect(new Set(traceSpans.map((span) => span.service))).toEqual(new Set(['bootstrap', 'enrollment']));
    for (const span of traceSpans)
      if (span !== root) expect(descendsFrom(span, root, traceSpans), span.name).toBe(true);
  });

  it('continues through the internal call: enrollment’s SERVER span is the child of bootstrap’s CLIENT span', () => {
    const name = `POST ${PSK_PROOFS_CHECK.path}`;
    const call = one(traceSpans, { service: 'bootstrap', kind: KIND.CLIENT, name });
    const served = one(traceSpans, { service: 'enrollment', kind: KIND.SERVER, name });
    expect(served.parentSpanId).toBe(call.spanId);
    expect(served.attributes['http.route']).toBe(PSK_PROOFS_CHECK.path);
  });

  it('continues through Kafka: enrollment consumes the lifecycle event under bootstrap’s send', () => {
    const send = one(traceSpans, {
      service: 'bootstrap',
      kind: KIND.PRODUCER,
      name: `send ${DEVICE_LIFECYCLE.name}`,
    });
    const processed = one(traceSpans, {
      service: 'enrollment',
      kind: KIND.CONSUMER,
      name: `process ${DEVICE_LIFECYCLE.name}`,
    });
    expect(processed.parentSpanId).toBe(send.spanId);
  });

  it('continues through the outbox: enrollment relays the registry event in the trace that wrote it', () => {
    const processed = one(traceSpans, {
      service: 'enrollment',
      kind: KIND.CONSUMER,
      name: `process ${DEVICE_LIFECYCLE.name}`,
    });
    const relayed = one(traceSpans, {
      service: 'enrollment',
      kind: KIND.PRODUCER,
      name: `send ${ENROLLMENT_DEVICES.name}`,
    });
    expect(relayed.parentSpanId).toBe(processed.spanId);
  });

  it('shows PostgreSQL and Redis (the maintained instrumentations) inside the trace', () => {
    const redis = traceSpans.filter((span) => dbSystem(span) === 'redis');
    expect(redis.length).toBeGreaterThan(0);
    expect(redis.every((span) => span.service === 'bootstrap')).toBe(true);
    const postgres = traceSpans.filter((span) => dbSystem(span) === 'postgresql');
    expect(postgres.filter((span) => span.service === 'bootstrap').length).toBeGreaterThan(0);
    expect(postgres.filter((span) => span.service === 'enrollment').length).toBeGreaterThan(0);
    for (const span of postgres) expect(span.kind).toBe(KIND.CLIENT);
  });

  it('describes each process by its OTEL_* variables, its pod and the release', () => {
    for (const service of ['bootstrap', 'enrollment']) {
      const resource = traceSpans.find((span) => span.service === service)!.resource;
      expect(resource).toMatchObject({
        'service.name': service,
        'service.version': version,
        'deployment.environment.name': 'e2e-traces',
        'k8s.pod.name': `${service}-pod-e2e`,
        'k8s.namespace.name': 'meterkeep-e2e',
        'k8s.node.name': 'node-e2e',
      });
    }
  });

  it('names operator requests by route template, never by the meter in the path', async () => {
    expect((await api('GET', `/v1/devices/${encodeURIComponent(meter)}`)).status).toBe(200);
    const served = await waitUntil(
      () =>
        receiver.spans.find(
          (span) =>
            span.service === 'enrollment' &&
            span.kind === KIND.SERVER &&
            span.attributes['http.route'] === '/v1/devices/:endpoint',
        ),
      { timeoutMs: 10_000, intervalMs: 200, description: 'the operator request’s span' },
    );
    expect(served.name).toBe('GET /v1/devices/:endpoint');
    expect(receiver.spans.filter((span) => span.name.includes(meter)).map((span) => span.name)).toEqual([]);
  });

  it('puts no secret in any span: no API key, PSK, password or Authorization header', () => {
    const [header, ...rows] = readFileSync(join(batch.batchDir, 'enrollment-list.csv'), 'utf8').split('\n');
    const pskKey = rows.find((line) => line.startsWith(`${meter},`))!.split(',')[
      header!.split(',').indexOf('psk_key_base64')
    ]!;
    const passwordFiles = ['bootstrap', 'enrollment'].flatMap((principal) =>
      Object.entries(principalEnv(principal as 'bootstrap', { ...process.env, ...env }))
        .filter(([key]) => key.endsWith('PASSWORD_FILE'))
        .map(([, file]) => readFileSync(file, 'utf8').trim()),
    );
    const secrets = (
      [
        ['the API key', apiKey],
        ['the PSK', pskKey],
        ...passwordFiles.map((value) => ['a Kafka or Redis password', value]),
        ...Object.entries(env).filter(([key]) => /SECRET|KEK|PASSWORD/.test(key) && !key.endsWith('_FILE')),
      ] as [string, string][]
    ).filter(([, secret]) => secret.length >= 8);
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    const text = JSON.stringify(receiver.spans.map((span) => [span.name, span.attributes, span.resource]));
    const leaks = secrets.filter(([, secret]) => text.includes(secret));
    expect(
      leaks.map(([what, secret]) => {
        const at = text.indexOf(secret);
        return `${what}: …${text.slice(Math.max(0, at - 120), at)}`;
      }),
    ).toEqual([]);
    expect(text).not.toMatch(/authorization|bearer |x-api-key/i);
  });
});
