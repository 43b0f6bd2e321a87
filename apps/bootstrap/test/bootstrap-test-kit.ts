// Test-only harness: the bootstrap app in-process on the real stack, with its own PostgreSQL schema,
// its own Redis database, and meters that speak to it over mutual TLS.
import { createHmac, generateKeyPairSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { type Server, createServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import {
  ALL_TOPICS,
  DEVICE_LIFECYCLE,
  ENROLLMENT_DECOMMISSION_REQUESTS,
  ENROLLMENT_DEVICES,
  ENROLLMENT_TRUST_ANCHORS,
  type EnrollmentDeviceEvent,
  type EnrollmentTrustAnchorEvent,
  type EventEnvelope,
  PSK_PROOFS_CHECK,
  type TopicContract,
} from '@meterkeep/contracts';
import { type Redis, createRedis } from '@meterkeep/cache';
import { createDatabase } from '@meterkeep/db';
import { DATABASE } from '@meterkeep/db/nest';
import { EventProducer, type KafkaClient as Kafka, createKafkaClient, ensureTopics } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import {
  type Certificate,
  type CertificateAuthority,
  type KeyPair,
  createCsr,
  createIntermediateCa,
  createRootCa,
  exportPrivateKey,
  generateKeyPair,
  issueCertificate,
} from '@meterkeep/pki';
import { InternalListenerHost, type RunningService, startService } from '@meterkeep/service-runtime';
import {
  type ServiceIdentityPems,
  internalCall,
  serviceIdentity,
  serviceStackEnv,
  stackEndpoints,
  startGroupAtEnd,
  uniqueName,
  waitUntil,
} from '@meterkeep/testing';
import { AppModule, configureApp, lifecycleTransport } from '../src/app.module';
import { BootstrapConfig } from '../src/config';
import type { Executor } from '../src/core/database';
import { DeviceListener } from '../src/device-listener/device-listener';
import { readDirectivePublicKeys } from '../src/pki/directive-public-keys';
import type { DeviceRecord } from '../src/read-model/read-model.records';
import { ReadModelStore } from '../src/read-model/read-model.store';
import { ReadModelSync } from '../src/read-model/read-model.sync';

export { TopicTap, type TappedRecord, waitUntil } from '@meterkeep/testing';

const letters = (n: number) => Array.from(randomBytes(n), (b) => String.fromCharCode(97 + (b % 26))).join('');
const DAY = 86_400_000;
const seconds = (ms: number) => new Date(Math.floor(ms / 1_000) * 1_000);

/** A tenant id no other run uses. */
export const uniqueTenant = (prefix = 't') => uniqueName(prefix).toLowerCase();
/** An endpoint name no other run uses. */
export const uniqueEndpoint = (prefix = 'MTR') => `${prefix}-${randomBytes(6).toString('hex').toUpperCase()}`;

/**
 * The Redis database bootstrap's integration tests use: theirs alone, so flushing it (the rebuild
 * test) disturbs no other suite or service sharing the stack's Redis.
 */
export const TEST_REDIS_DB = 11;
export function testRedisUrl(): string {
  const url = new URL(stackEndpoints().redisUrl);
  url.pathname = `/${TEST_REDIS_DB}`;
  return url.toString();
}

export function testRedis(): Redis {
  return createRedis(testRedisUrl());
}

export function testKafka(): Kafka {
  return createKafkaClient({
    clientId: `bootstrap-it-${letters(6)}`,
    ...stackEndpoints().kafka,
    logger: createLogger({ service: 'bootstrap-it', level: 'error' }),
  });
}

// ---- PKI of the outside world: manufacturers and their meters ------------------------------------

export interface Manufacturer {
  root: CertificateAuthority;
  /** The factory's issuing CA: what a tenant registers, and what signs meters' certificates. */
  factoryCa: CertificateAuthority;
}

export function manufacturer(name = `OEM ${letters(5)}`): Manufacturer {
  const notBefore = seconds(Date.now() - 30 * DAY);
  const notAfter = seconds(Date.now() + 3_650 * DAY);
  const root = createRootCa({
    subject: { organization: name, commonName: `${name} Root CA` },
    validity: { notBefore, notAfter },
    pathLen: 1,
  });
  const factoryCa = createIntermediateCa(root, {
    subject: { organization: name, commonName: `${name} Factory CA` },
    validity: { notBefore, notAfter },
    pathLen: 0,
  });
  return { root, factoryCa };
}

/** A meter's TLS credential: key, certificate, and the chain it sends (leaf, then intermediates). */
export interface MeterCredential {
  endpointName: string;
  key: KeyPair;
  certificate: Certificate;
  /** Intermediates sent in the handshake after the leaf. */
  chainPem: string[];
}

export function factoryMeter(
  from: Manufacturer,
  endpointName = uniqueEndpoint(),
  validity: { notBefore?: Date; notAfter?: Date } = {},
): MeterCredential {
  const key = generateKeyPair();
  const certificate = issueCertificate({
    issuer: from.factoryCa,
    profile: 'factory-device',
    subject: { organization: 'Meters', commonName: endpointName },
    subjectPublicKey: key.publicKey,
    notBefore: validity.notBefore ?? seconds(Date.now() - DAY),
    notAfter: validity.notAfter ?? seconds(Date.now() + 3_000 * DAY),
  });
  return { endpointName, key, certificate, chainPem: [from.factoryCa.certificate.pem] };
}

/** A CSR for a new P-256 key (or the key given), CN = `commonName`. */
export function csrFor(commonName: string, key: KeyPair = generateKeyPair()) {
  return { key, pem: createCsr({ privateKey: key.privateKey, subject: { commonName } }).pem };
}

// ---- events as enrollment would publish them -----------------------------------------------------

export function deviceEvent(
  tenantId: string,
  endpointName: string,
  status: EnrollmentDeviceEvent['status'],
  credential: EnrollmentDeviceEvent['credential'],
  extra: Partial<EnrollmentDeviceEvent> = {},
): EnrollmentDeviceEvent {
  return {
    eventId: randomUUID(),
    tenantId,
    occurredAt: new Date().toISOString(),
    deviceId: endpointName,
    status,
    credential,
    ...extra,
  };
}

export function anchorEvent(
  tenantId: string,
  caId: string,
  status: EnrollmentTrustAnchorEvent['status'],
  certificate: Certificate,
): EnrollmentTrustAnchorEvent {
  return {
    eventId: randomUUID(),
    tenantId,
    occurredAt: new Date().toISOString(),
    caId,
    status,
    fingerprintSha256: certificate.fingerprintSha256,
    certificatePem: certificate.pem,
  };
}

// ---- the stub of enrollment's internal PSK proof route -------------------------------------------

/**
 * Stands in for enrollment's PSK-proof route (the same contract, PSK_PROOFS_CHECK, on an internal
 * listener as enrollment's: mutual TLS with the local platform CA, presenting enrollment's identity,
 * answering only the caller the contract names; HMAC-SHA256(psk, message) compared in constant time).
 * Bootstrap tests cannot start the enrollment app in-process (apps never import apps); enrollment's
 * own test covers the real route.
 */
export class PskProofStub {
  /** Every call that got through the handshake, with the service its certificate names. */
  readonly calls: {
    caller: string | undefined;
    headers: IncomingHttpHeaders;
    body: Record<string, string>;
  }[] = [];
  private readonly keys = new Map<string, { psk: Buffer; tenantId: string; endpointName: string }>();

  private constructor(private readonly server: Server) {}

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  static async start(): Promise<PskProofStub> {
    const files = serviceIdentity('enrollment');
    const server = createServer({
      cert: readFileSync(files.SERVICE_TLS_CERT_FILE, 'utf8'),
      key: readFileSync(files.SERVICE_TLS_KEY_FILE, 'utf8'),
      ca: readFileSync(files.PLATFORM_CA_FILE, 'utf8'),
      requestCert: true,
      rejectUnauthorized: true,
    });
    const stub = new PskProofStub(server);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, string>;
        const cn = (request.socket as TLSSocket).getPeerCertificate().subject?.CN;
        const caller = typeof cn === 'string' ? cn : undefined;
        stub.calls.push({ caller, headers: request.headers, body });
        const answer = (status: number, json: unknown) => {
          response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
        };
        if (request.url !== PSK_PROOFS_CHECK.path || request.method !== PSK_PROOFS_CHECK.method)
          return answer(404, {});
        if (caller !== 'bootstrap')
          return answer(403, { code: 'CALLER_NOT_ALLOWED', message: `${caller} may not call this route` });
        if (!PSK_PROOFS_CHECK.request.safeParse(body).success)
          return answer(400, { code: 'INVALID_REQUEST', message: 'breaks the contract' });
        const known = stub.keys.get(body.pskIdentity ?? '');
        if (!known) return answer(200, { valid: false });
        const expected = createHmac('sha256', known.psk)
          .update(Buffer.from(body.message ?? '', 'base64'))
          .digest();
        const proof = Buffer.from(body.proof ?? '', 'base64');
        const valid = proof.length === expected.length && timingSafeEqual(proof, expected);
        return answer(
          200,
          valid ? { valid, tenantId: known.tenantId, endpointName: known.endpointName } : { valid },
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return stub;
  }

  enroll(pskIdentity: string, psk: Buffer, tenantId: string, endpointName: string): void {
    this.keys.set(pskIdentity, { psk, tenantId, endpointName });
  }

  stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections(); // bootstrap's client keeps connections alive
    return closed;
  }
}

// ---- the service under test ----------------------------------------------------------------------

export interface DeviceResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  /** The body as sent (to compare answers byte for byte). */
  text: string;
  headers: IncomingHttpHeaders;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** How often the read model's markers are checked (besides on every lookup miss). */
  checkIntervalMs?: number;
}

export class BootstrapHarness {
  readonly kafka = testKafka();
  /** Enrollment's events are not bootstrap's to write: the harness publishes them as the stack's admin. */
  private enrollmentProducer: Promise<EventProducer> | undefined;

  private constructor(
    readonly service: RunningService,
    readonly schema: string,
    readonly config: BootstrapConfig,
    /** Every line the service logged, as JSON text. */
    readonly logs: string[],
    /** The env the config was read from (secrets included: the log test looks for them). */
    readonly env: Record<string, string>,
  ) {}

  static async start(options: HarnessOptions = {}): Promise<BootstrapHarness> {
    const stack = stackEndpoints();
    const schema = `bootstrap_it_${letters(10)}`;
    const env: Record<string, string> = {
      ...serviceStackEnv('bootstrap'),
      KAFKA_CLIENT_ID: `bootstrap-it-${letters(6)}`,
      DATABASE_URL: stack.databaseUrl,
      DATABASE_POOL_MAX: '5',
      REDIS_URL: testRedisUrl(),
      HOST: '127.0.0.1',
      BOOTSTRAP_TLS_PORT: '0',
      BOOTSTRAP_KEK: randomBytes(32).toString('base64'),
      ...serviceIdentity('bootstrap'),
      INTERNAL_PORT: '0',
      BOOTSTRAP_TELEMETRY_URI: 'https://telemetry.meters.test:8444',
      BOOTSTRAP_OTA_URI: 'https://ota.meters.test:8445',
      BOOTSTRAP_PUBLIC_URI: 'https://bootstrap.meters.test:8443',
      OTA_DIRECTIVE_PUBLIC_KEYS_FILE: directivePublicKeysFile(2),
      LOG_LEVEL: 'debug',
      ...options.env,
    };
    const config = BootstrapConfig.parse(env);
    const logs: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const logger = createLogger({ service: 'bootstrap', level: 'debug', destination });
    const kafka = testKafka();
    await ensureTopics(kafka, ALL_TOPICS, { deadLetter: true });
    // The lifecycle consumer's group starts at the topic's end: earlier runs' events are not ours.
    const groupId = `bootstrap-it-${letters(10)}`;
    await startGroupAtEnd(kafka, groupId, DEVICE_LIFECYCLE.name);
    const consumerTuning = {
      sessionTimeout: 6_000,
      heartbeatInterval: 500,
      rebalanceTimeout: 10_000,
      maxWaitTimeInMs: 200,
      retry: { attempts: 3, initialMs: 20, maxMs: 100 },
    };
    const service = await startService({
      name: 'bootstrap',
      module: AppModule.forRoot(config, logger, {
        schema,
        readModel: { checkIntervalMs: options.checkIntervalMs ?? 500, consumer: consumerTuning },
      }),
      port: 0,
      host: '127.0.0.1',
      logger,
      transports: [lifecycleTransport(config, logger, { groupId, ...consumerTuning })],
      configure: configureApp,
    }).catch(async (error: unknown) => {
      await dropSchema(schema);
      throw error;
    });
    return new BootstrapHarness(service, schema, config, logs, env);
  }

  get url(): string {
    return this.service.url;
  }

  /** The internal listener (mutual TLS with the local platform CA). */
  get internalUrl(): string {
    return this.service.app.get(InternalListenerHost).url;
  }

  /** A call to an internal route as service `as` (its platform certificate), or with none (null). */
  internal<T = Record<string, unknown>>(
    path: string,
    json: unknown,
    as: string | ServiceIdentityPems | null,
  ) {
    return internalCall<T>(this.internalUrl, path, { as, json });
  }

  get tlsPort(): number {
    return this.service.app.get(DeviceListener).port;
  }

  /** The distributor directive keys every answer carries (OTA_DIRECTIVE_PUBLIC_KEYS_FILE). */
  get directivePublicKeysPem(): string[] {
    return readDirectivePublicKeys(this.config.OTA_DIRECTIVE_PUBLIC_KEYS_FILE!);
  }

  get serverCaPem(): string {
    return this.service.app.get(DeviceListener).caPem;
  }

  get db(): Executor {
    return this.service.app.get<Executor>(DATABASE);
  }

  get store(): ReadModelStore {
    return this.service.app.get(ReadModelStore);
  }

  get sync(): ReadModelSync {
    return this.service.app.get(ReadModelSync);
  }

  /** Publishes as enrollment would (contract-checked, acknowledged by Kafka). */
  async publish<T extends EventEnvelope>(contract: TopicContract<T>, ...events: T[]): Promise<void> {
    this.enrollmentProducer ??= (async () => {
      const producer = new EventProducer({
        kafka: this.kafka,
        logger: createLogger({ service: 'bootstrap-it', level: 'error' }),
        contracts: [
          ENROLLMENT_DEVICES,
          ENROLLMENT_TRUST_ANCHORS,
          DEVICE_LIFECYCLE,
          ENROLLMENT_DECOMMISSION_REQUESTS,
        ],
      });
      await producer.connect();
      return producer;
    })();
    await (await this.enrollmentProducer).publishMany(contract, events);
  }

  async enrollDevice(event: EnrollmentDeviceEvent): Promise<void> {
    await this.publish(ENROLLMENT_DEVICES, event);
    await this.waitForDevice(
      event.tenantId,
      event.deviceId,
      (d) => d.occurredAt === event.occurredAt && d.status === event.status,
    );
  }

  async trustAnchor(event: EnrollmentTrustAnchorEvent): Promise<void> {
    await this.publish(ENROLLMENT_TRUST_ANCHORS, event);
    await waitUntil(
      async () =>
        (await this.store.anchorsMatching([event.fingerprintSha256], [])).some(
          (a) =>
            a.tenantId === event.tenantId &&
            a.caId === event.caId &&
            a.status === event.status &&
            a.occurredAt === event.occurredAt,
        ),
      { timeoutMs: 30_000, description: `anchor ${event.caId} ${event.status} in the read model` },
    );
  }

  waitForDevice(
    tenantId: string,
    endpointName: string,
    predicate: (d: DeviceRecord) => boolean = () => true,
  ) {
    return waitUntil(
      async () =>
        (await this.store.devicesByEndpoint(endpointName)).find(
          (d) => d.tenantId === tenantId && predicate(d),
        ),
      { timeoutMs: 30_000, description: `device ${endpointName} of ${tenantId} in the read model` },
    );
  }

  waitCaughtUp(timeoutMs = 120_000) {
    // Checks as the periodic timer would (a test may have slowed that timer down).
    return waitUntil(
      async () => {
        await this.sync.check();
        return this.sync.state === 'caught-up';
      },
      { timeoutMs, intervalMs: 200, description: 'the read model caught up' },
    );
  }

  /** One HTTPS request to the device listener, as a meter makes it (fresh connection, no resumption). */
  device<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: {
      json?: unknown;
      credential?: MeterCredential;
      servername?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<DeviceResponse<T>> {
    const body = options.json === undefined ? undefined : JSON.stringify(options.json);
    const { credential } = options;
    return new Promise((resolve, reject) => {
      const request = httpsRequest(
        {
          host: '127.0.0.1',
          port: this.tlsPort,
          method,
          path,
          servername: options.servername ?? 'localhost',
          ca: this.serverCaPem,
          agent: false,
          headers: {
            ...options.headers,
            ...(body !== undefined && {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
            }),
          },
          ...(credential && {
            key: exportPrivateKey(credential.key.privateKey, 'pem') as string,
            cert: [credential.certificate.pem, ...credential.chainPem].join(''),
          }),
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON
            }
            resolve({ status: response.statusCode ?? 0, body: parsed as T, text, headers: response.headers });
          });
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  async stop(): Promise<void> {
    try {
      await this.service.stop();
      await (await this.enrollmentProducer)?.disconnect();
    } finally {
      await dropSchema(this.schema);
    }
  }
}

/** Test schemas go with their run: a rerun starts from a clean slate. */
async function dropSchema(schema: string): Promise<void> {
  const admin = createDatabase<unknown>({
    url: stackEndpoints().databaseUrl,
    schema: 'bootstrap_it_admin',
    pool: { max: 1 },
  });
  try {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin);
  } finally {
    await admin.destroy();
  }
}

/** A file of `count` fresh P-256 directive public keys (the distributor's, during a rotation when 2). */
export function directivePublicKeysFile(count: number): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bootstrap-directive-keys-')), 'directive.pub.pem');
  const pems = Array.from({ length: count }, () =>
    generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }),
  );
  writeFileSync(file, pems.join(''));
  return file;
}
