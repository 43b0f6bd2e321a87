import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import {
  type Api,
  type MintedBatch,
  enrollBatch,
  mintProvisionedBatch,
  operatorApi,
  platformEnv,
  fleetCliTimeoutMs,
  runBuiltCli,
} from './lifecycle-harness';
import {
  type ServiceProcess,
  type StackEnv,
  freePort,
  internalWiring,
  stackEnvFrom,
  startServiceProcess,
  waitUntil,
} from '@meterkeep/local-stack';

export type PlatformService = 'enrollment' | 'bootstrap' | 'privacy' | 'telemetry-ingest' | 'ota-distributor';

/** The onboarding and telemetry services running as processes on free ports, wired to each other. */
export interface Platform {
  env: Record<string, string>;
  enrollment: ServiceProcess;
  bootstrap: ServiceProcess;
  privacy: ServiceProcess;
  ingest: ServiceProcess;
  /** The meters' URIs of the two mutual-TLS listeners. */
  bootstrapUri: string;
  ingestUri: string;
  /**
   * What bootstrap tells meters for the OTA distributor (BOOTSTRAP_OTA_URI): a free port, which
   * `env.OTA_TLS_PORT` hands to a distributor a test starts.
   */
  otaUri: string;
  /** The OTA distributor, when started with `ota: true`. */
  ota: ServiceProcess | undefined;
  /** The platform server CA: what meters trust bootstrap and telemetry by. */
  serverCaPem: string;
  /** Each service's Prometheus endpoint (GET /metrics), when started with `metrics: true`. */
  metrics: Partial<Record<PlatformService, string>>;
  /** Starts the ingest again (same ports and instance id) after it stopped or was killed. */
  restartIngest(): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

/**
 * Starts enrollment, bootstrap, privacy and telemetry-ingest (built: npm run build) on the local
 * stack. `ingestEnv` tunes the ingest only (tests shorten its windows).
 */
export async function startPlatform(options: {
  logs: string;
  ingestEnv?: Record<string, string>;
  /** Privacy's own environment: PRIVACY_DATA_KEY_GRANTS for a test's decrypting consumer. */
  privacyEnv?: Record<string, string>;
  /** Every service's environment besides the stack's (a bench quiets the logs). */
  env?: Record<string, string>;
  stack?: StackEnv;
  /** Also start the OTA distributor (as built), its device listener on `otaUri`'s port. */
  ota?: boolean;
  /** The distributor's own environment (an e2e test puts an S3 endpoint of its own in front). */
  otaEnv?: Record<string, string>;
  /** Give each service a Prometheus endpoint (METRICS_PORT) on a free port: `platform.metrics`. */
  metrics?: boolean;
}): Promise<Platform> {
  const stack = options.stack ?? stackEnvFrom(process.env);
  if (!stack) throw new Error('No local stack in the environment: run under the integration/e2e setup');
  const [enrollmentPort, bootstrapPort, privacyPort, ingestPort, bootstrapTls, ingestTls, otaTls] =
    await Promise.all(Array.from({ length: 7 }, () => freePort()));
  const internal = await internalWiring();
  const bootstrapUri = `https://localhost:${bootstrapTls}`;
  const ingestUri = `https://localhost:${ingestTls}`;
  const otaUri = `https://localhost:${otaTls}`;
  const env = platformEnv(stack, {
    ...internal.urls,
    BOOTSTRAP_TLS_PORT: String(bootstrapTls),
    BOOTSTRAP_PUBLIC_URI: bootstrapUri,
    BOOTSTRAP_TELEMETRY_URI: ingestUri,
    TELEMETRY_TLS_PORT: String(ingestTls),
    BOOTSTRAP_OTA_URI: otaUri,
    OTA_TLS_PORT: String(otaTls),
    ...options.env,
  });
  const metrics: Partial<Record<PlatformService, string>> = {};
  const metricsEnv = async (name: PlatformService): Promise<Record<string, string>> => {
    if (!options.metrics) return {};
    const port = await freePort();
    metrics[name] = `http://127.0.0.1:${port}/metrics`;
    return { METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1' };
  };
  const start = async (name: PlatformService, port: number, extra = {}) =>
    startServiceProcess({
      name,
      port,
      env: { ...env, ...(await metricsEnv(name)), ...extra },
      internal,
      logFile: join(options.logs, `${name}.log`),
    });
  const ingestExtra = { TELEMETRY_INSTANCE_ID: `it-${ingestTls}`, ...options.ingestEnv };

  const started: ServiceProcess[] = [];
  const track = async (service: Promise<ServiceProcess>) => {
    const running = await service;
    started.push(running);
    return running;
  };
  let enrollment: ServiceProcess;
  let bootstrap: ServiceProcess;
  let privacy: ServiceProcess;
  let ingest: ServiceProcess;
  let ota: ServiceProcess | undefined;
  let serverCaPem: string;
  try {
    enrollment = await track(start('enrollment', enrollmentPort!));
    bootstrap = await track(start('bootstrap', bootstrapPort!));
    privacy = await track(
      start('privacy', privacyPort!, {
        // An erasure waits for the services this platform runs: the OTA distributor only when started.
        PRIVACY_ERASURE_CONFIRMERS: [
          'privacy',
          'telemetry-ingest',
          'enrollment',
          'bootstrap',
          ...(options.ota ? ['ota-distributor'] : []),
        ].join(','),
        ...options.privacyEnv,
      }),
    );
    await Promise.all([enrollment.waitReady(90_000), bootstrap.waitReady(90_000), privacy.waitReady(90_000)]);
    // The ingest asks bootstrap for its server certificate: start it once bootstrap answers.
    ingest = await track(start('telemetry-ingest', ingestPort!, ingestExtra));
    await ingest.waitReady(90_000);
    await waitForPort(ingestTls!);
    if (options.ota) {
      ota = await track(start('ota-distributor', await freePort(), options.otaEnv));
      await ota.waitReady(90_000);
      await waitForPort(otaTls!);
    }
    serverCaPem = await (await fetch(`${bootstrap.url}/bs/v1/server-ca`)).text();
  } catch (error) {
    // Nothing is left running when the platform does not come up.
    await Promise.all(started.map((service) => service.stop()));
    throw error;
  }

  const platform: Platform = {
    env,
    metrics,
    enrollment,
    bootstrap,
    privacy,
    get ingest() {
      return ingest;
    },
    bootstrapUri,
    ingestUri,
    otaUri,
    ota,
    serverCaPem,
    restartIngest: async () => {
      ingest = await start('telemetry-ingest', ingestPort!, ingestExtra);
      await ingest.waitReady(90_000);
      await waitForPort(ingestTls!);
      return ingest;
    },
    stop: async () => {
      await Promise.all([ota?.stop(), ingest.stop(), privacy.stop(), bootstrap.stop(), enrollment.stop()]);
    },
  };
  return platform;
}

/**
 * The ingest's device listener opens after its readiness (it first fences its previous boot and
 * recovers batch receipts): wait until the port takes connections.
 */
async function waitForPort(port: number): Promise<void> {
  await waitUntil(
    () =>
      new Promise<boolean>((done) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          done(true);
        });
        socket.once('error', () => done(false));
      }),
    { timeoutMs: 90_000, intervalMs: 200, description: `port ${port} to take connections` },
  );
}

export interface DeviceResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** A device's HTTPS client over one keep-alive mutual-TLS connection pool. */
export interface DeviceClient {
  post(
    path: string,
    body: unknown,
    options?: { contentType?: string; raw?: string | Buffer },
  ): Promise<DeviceResponse>;
  /** Any method; a body only when `body` or `raw` is given (`chunked` sends it without a length). */
  request(
    method: string,
    path: string,
    options?: {
      body?: unknown;
      raw?: string | Buffer;
      contentType?: string;
      chunked?: boolean;
      headers?: Record<string, string>;
    },
  ): Promise<DeviceResponse>;
  get(path: string, headers?: Record<string, string>): Promise<DeviceResponse>;
  close(): void;
}

/**
 * A device client with a meter's operational credential as meter-sim stored it after bootstrap
 * (`<statesDir>/<endpoint>/operational.json`), or with any key and certificate (attack tests), or none.
 */
export function deviceClient(
  baseUri: string,
  serverCaPem: string,
  credential?: { keyPem: string; certificatePem: string } | { statesDir: string; endpointName: string },
): DeviceClient {
  let tls: { key?: string; cert?: string } = {};
  if (credential && 'statesDir' in credential) {
    const stored = JSON.parse(
      readFileSync(join(credential.statesDir, credential.endpointName, 'operational.json'), 'utf8'),
    ) as { privateKeyPem: string; certificatePem: string };
    tls = { key: stored.privateKeyPem, cert: stored.certificatePem };
  } else if (credential) {
    tls = { key: credential.keyPem, cert: credential.certificatePem };
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 4, ca: serverCaPem, ...tls });
  const send: DeviceClient['request'] = (method, path, options = {}) =>
    new Promise((resolveRequest, reject) => {
      const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      const headers: Record<string, string | number> = { ...options.headers };
      if (payload !== undefined) {
        headers['content-type'] = options.contentType ?? 'application/json';
        if (!options.chunked) headers['content-length'] = Buffer.byteLength(payload);
      }
      const req = request(new URL(path, baseUri), { method, agent, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // Not JSON: kept as text.
          }
          resolveRequest({ status: response.statusCode ?? 0, headers: response.headers, body: parsed });
        });
        response.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  return {
    post: (path, body, options = {}) =>
      send('POST', path, { body, raw: options.raw, contentType: options.contentType }),
    request: send,
    get: (path, headers) => send('GET', path, { headers }),
    close: () => agent.destroy(),
  };
}

/** A tenant with a fleet of bootstrapped, ACTIVE meters on a running platform. */
export interface ActiveFleet {
  tenantId: string;
  apiKey: string;
  /** The tenant's operator clients of enrollment and privacy. */
  api: Api;
  privacyApi: Api;
  batch: MintedBatch;
}

/** Mints, enrolls and bootstraps `count` meters of a new tenant, and waits until all are ACTIVE. */
export async function activeFleet(
  platform: Platform,
  options: { tenantId: string; count: number; prefix: string; concurrency?: number; model?: string },
): Promise<ActiveFleet> {
  const work = mkdtempSync(join(tmpdir(), 'meterkeep-fleet-'));
  const apiKey = (
    await runBuiltCli('enrollment', ['tenant', 'create', options.tenantId], platform.env)
  ).trim();
  const api = operatorApi(platform.enrollment.url, apiKey);
  const batch = await mintProvisionedBatch({
    dir: work,
    count: options.count,
    prefix: options.prefix,
    bootstrapUri: platform.bootstrapUri,
    bootstrapTrustAnchorPem: platform.serverCaPem,
    ...(options.model && { model: options.model }),
  });
  await enrollBatch(api, batch, { trustCa: true });
  const fleet = JSON.parse(
    await runBuiltCli(
      'meter-sim',
      [
        'fleet',
        'bootstrap',
        '--state',
        batch.statesDir,
        '--concurrency',
        String(options.concurrency ?? 10),
        '--json',
      ],
      {},
      { timeoutMs: fleetCliTimeoutMs(options.count) },
    ),
  ) as { succeeded: number };
  if (fleet.succeeded !== options.count)
    throw new Error(`only ${fleet.succeeded} of ${options.count} meters bootstrapped`);
  await waitUntil(
    async () => {
      let active = 0;
      let cursor: string | undefined;
      do {
        const { body } = await api(
          'GET',
          `/v1/devices?state=ACTIVE&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        );
        const page = body as { items?: unknown[]; nextCursor?: string };
        active += page.items?.length ?? 0;
        cursor = page.nextCursor;
      } while (cursor);
      return active >= options.count;
    },
    // The registry takes the bootstraps from Kafka: a large fleet's last ones may still be in flight.
    { timeoutMs: Math.max(60_000, options.count * 20), description: 'the fleet ACTIVE in the registry' },
  );
  return {
    tenantId: options.tenantId,
    apiKey,
    api,
    privacyApi: operatorApi(platform.privacy.url, apiKey),
    batch,
  };
}
