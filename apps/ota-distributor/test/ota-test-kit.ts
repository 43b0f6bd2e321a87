// Test-only harness: the OTA distributor in-process on the real stack (PostgreSQL, S3Proxy, Kafka), in a
// schema and a bucket of its own, authenticating its callers against a REAL enrollment service run as
// built (dist/), as it is deployed.
import { type KeyObject, createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Module, type Type } from '@nestjs/common';
import { type Kysely, sql } from 'kysely';
import {
  ALL_TOPICS,
  DEVICE_LIFECYCLE,
  type DeviceLifecycleEvent,
  ENROLLMENT_DECOMMISSION_REQUESTS,
  ENROLLMENT_DEVICES,
  type EnrollmentDeviceEvent,
  type EventEnvelope,
  type FirmwareImageUpload,
  type FirmwareManifestView,
  OTA_CHECK_IN,
  OTA_DOWNLOAD_URL,
  OTA_EXECUTION_MANIFEST,
  OTA_EXECUTION_RECEIPT,
  OTA_EXECUTION_STATUS,
  type OtaCheckInQuery,
  type OtaDownloadUrlRequest,
  type OtaStatusReport,
  type TopicContract,
} from '@meterkeep/contracts';
import { createDatabase } from '@meterkeep/db';
import { type FirmwareManifest, signManifest } from '@meterkeep/firmware';
import { DATABASE } from '@meterkeep/db/nest';
import { EventProducer, type KafkaClient as Kafka, createKafkaClient, ensureTopics } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import { DeviceListener, type RunningService, startService } from '@meterkeep/service-runtime';
import { ObjectStore } from '@meterkeep/storage';
import {
  type ServiceProcess,
  freePort,
  platformEnv,
  serviceIdentity,
  stackEnvFrom,
  startServiceProcess,
  serviceStackEnv,
  stackEndpoints,
  startGroupAtEnd,
  waitUntil,
  type HttpResult,
  type RequestOptions,
} from '@meterkeep/testing';
import { AppModule, deviceEventsTransport } from '../src/app.module';
import { CheckInViews } from '../src/executions/check-in-views';
import { OtaDistributorConfig } from '../src/config';
import type { OtaDb } from '../src/core/database';
import { configureHttp } from '../src/configure-http';
import { envelopeBodyReader } from '../src/manifests/envelope-body.middleware';
import { TEST_METER_HEADER, type TestMeter, TestMeters, testMeterEdge } from './test-meter-edge';

export type { TestMeter } from './test-meter-edge';

export { TopicTap, type TappedRecord, waitUntil } from '@meterkeep/testing';

const letters = (n: number) => Array.from(randomBytes(n), (b) => String.fromCharCode(97 + (b % 26))).join('');

export {
  EnrollmentProcess,
  type HttpResult,
  type OperatorRole as Role,
  type RequestOptions,
} from '@meterkeep/testing';

export function testKafka(): Kafka {
  return createKafkaClient({
    clientId: `ota-it-${letters(6)}`,
    ...stackEndpoints().kafka,
    logger: createLogger({ service: 'ota-it', level: 'error' }),
  });
}

export interface OtaOptions {
  /** Where the distributor asks enrollment about API keys: its internal listener. */
  enrollmentUrl: string;
  /**
   * Bootstrap's internal listener: the device listener's server certificate comes from there, issued
   * by the platform server CA the meters trust (a running platform's `env.BOOTSTRAP_INTERNAL_URL`).
   */
  bootstrapUrl?: string;
  /** OTA_MAX_IMAGE_BYTES, and other settings to override. */
  env?: Record<string, string>;
  /** Controllers a test adds beside the service's own (a probe route behind the device edge). */
  controllers?: Type[];
  /** The clock the device edge judges certificates by. */
  clock?: () => Date;
  /** False: the device directory is never fed, so it never catches up. */
  followDeviceTopics?: boolean;
  /**
   * Meters authenticated by the test-only `x-test-meter` header on the plain listener instead of
   * mutual TLS (the use-case suites; device-edge.int-spec tests the real edge).
   */
  testMeterHeader?: boolean;
  /**
   * Another harness's schema, to run as a second replica of the same distributor (its migrations ran
   * already; the schema stays when this one stops).
   */
  replicaOf?: OtaHarness;
  /**
   * An existing schema to run in, kept when this harness stops: `ota`, the built service's own, to
   * share with distributors run as processes (ota-campaign-crash.int-spec).
   */
  schema?: string;
  /** How soon the check-in views' listener reconnects after a loss. */
  checkInReconnectMs?: number;
}

/** A release's manifest of one raw `app` image (unsigned), valid from a minute ago for 90 days. */
export function appManifest(release: {
  vendorId: string;
  classId: string;
  image: Buffer;
  sequenceNumber: number;
}): FirmwareManifest {
  const now = Date.now();
  return {
    manifestVersion: 1,
    sequenceNumber: release.sequenceNumber,
    vendorId: release.vendorId,
    classId: release.classId,
    components: [
      {
        id: ['app'],
        version: `1.${release.sequenceNumber}.0`,
        format: 'raw',
        digest: { alg: 'sha-256', value: createHash('sha256').update(release.image).digest('hex') },
        size: release.image.length,
      },
    ],
    issuedAt: new Date(now - 60_000).toISOString(),
    expiresAt: new Date(now + 90 * 24 * 3600 * 1000).toISOString(),
    description: `release ${letters(6)}`,
  };
}

/** The OTA distributor started in-process on port 0, with its own schema and firmware bucket. */
export class OtaHarness {
  private producer: Promise<EventProducer> | undefined;

  private constructor(
    readonly service: RunningService,
    readonly schema: string,
    /** Whether the schema is this harness's to drop (not a second replica's). */
    private readonly ownsSchema: boolean,
    readonly bucket: string,
    /** Every line the service logged, as JSON text. */
    readonly logs: string[],
    /** The public half of the directive key the service signs with. */
    readonly directivePublicKey: KeyObject,
    private readonly meters: TestMeters,
    private readonly keyDir: string,
    /** The device projection's consumer group (its own, started at the topics' ends). */
    readonly groupId: string,
  ) {}

  get url(): string {
    return this.service.url;
  }

  /** The replica's in-memory check-in views. */
  get checkInViews(): CheckInViews {
    return this.service.app.get(CheckInViews);
  }

  get db(): Kysely<OtaDb> {
    return this.service.app.get<Kysely<OtaDb>>(DATABASE);
  }

  /** The service's own object store (its S3 credentials): to look at what it stored. */
  get store(): ObjectStore {
    return this.service.app.get(ObjectStore);
  }

  /** The device listener's port (mutual TLS), once it is open. */
  async deviceListenerPort(): Promise<number> {
    const listener = this.service.app.get(DeviceListener);
    await listener.whenOpen();
    return listener.port;
  }

  /** What a meter is told for this distributor (bootstrap's BOOTSTRAP_OTA_URI). */
  async deviceUri(): Promise<string> {
    return `https://localhost:${await this.deviceListenerPort()}`;
  }

  static async start({
    enrollmentUrl,
    bootstrapUrl,
    env = {},
    controllers = [],
    clock,
    followDeviceTopics,
    testMeterHeader = false,
    replicaOf,
    schema: sharedSchema,
    checkInReconnectMs,
  }: OtaOptions): Promise<OtaHarness> {
    const stack = stackEndpoints();
    const schema = replicaOf?.schema ?? sharedSchema ?? `ota_it_${letters(10)}`;
    const ownsSchema = !replicaOf && sharedSchema === undefined;
    // The service's directive key pair, in a temp dir of this run (the local stack keeps its own).
    const keyDir = mkdtempSync(join(tmpdir(), 'ota-it-directive-'));
    const directive = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(
      join(keyDir, 'directive.key.pem'),
      directive.privateKey.export({ type: 'pkcs8', format: 'pem' }),
      { mode: 0o600 },
    );
    const bucket = replicaOf?.bucket ?? `ota-it-${letters(10)}`;
    const config = OtaDistributorConfig.parse({
      ...serviceStackEnv('ota-distributor'),
      KAFKA_CLIENT_ID: `ota-distributor-it-${letters(6)}`,
      DATABASE_URL: stack.databaseUrl,
      DATABASE_POOL_MAX: '5',
      S3_ENDPOINT: stack.s3.endpoint,
      S3_REGION: stack.s3.region,
      S3_ACCESS_KEY_ID: stack.s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: stack.s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: String(stack.s3.forcePathStyle),
      OTA_FIRMWARE_BUCKET: bucket,
      ...serviceIdentity('ota-distributor'),
      HOST: '127.0.0.1',
      ENROLLMENT_INTERNAL_URL: enrollmentUrl,
      ...(bootstrapUrl && { BOOTSTRAP_INTERNAL_URL: bootstrapUrl }),
      OTA_TLS_PORT: '0',
      OTA_INSTANCE_ID: `it-${letters(8)}`,
      LOG_LEVEL: 'debug',
      OTA_DIRECTIVE_KEY_FILE: join(keyDir, 'directive.key.pem'),
      ...env,
    });
    const logs: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const logger = createLogger({ service: 'ota-distributor', level: 'debug', destination });
    const kafka = testKafka();
    await ensureTopics(kafka, ALL_TOPICS, { deadLetter: true });
    // The projection's consumer group starts at the topics' ends: earlier runs' events are not ours.
    const groupId = `ota-distributor-it-${letters(10)}`;
    for (const topic of [ENROLLMENT_DEVICES, DEVICE_LIFECYCLE])
      await startGroupAtEnd(kafka, groupId, topic.name);
    const meters = new TestMeters();
    const appModule = AppModule.forRoot(config, logger, {
      schema,
      clock,
      followDeviceTopics,
      checkInReconnectMs,
    });
    const service = await startService({
      name: 'ota-distributor',
      module:
        controllers.length === 0 ? appModule : { module: OtaTestRoot, imports: [appModule], controllers },
      port: 0,
      host: '127.0.0.1',
      logger,
      transports: [
        deviceEventsTransport(config, logger, {
          groupId,
          sessionTimeout: 6_000,
          heartbeatInterval: 500,
          rebalanceTimeout: 10_000,
          maxWaitTimeInMs: 200,
          retry: { attempts: 3, initialMs: 20, maxMs: 100 },
        }),
      ],
      configure: (app) => {
        if (!testMeterHeader) return configureHttp(app);
        // Test-only stand-in for the mutual-TLS edge (see test-meter-edge.ts), on the plain listener.
        app.use(testMeterEdge(meters));
        app.use(envelopeBodyReader());
      },
    }).catch(async (error: unknown) => {
      if (ownsSchema) await dropSchema(schema);
      rmSync(keyDir, { recursive: true, force: true });
      throw error;
    });
    return new OtaHarness(
      service,
      schema,
      ownsSchema,
      bucket,
      logs,
      directive.publicKey,
      meters,
      keyDir,
      groupId,
    );
  }

  /**
   * Ends earlier runs' unfinished campaigns in a shared schema (as CANCELLED, straight in the table):
   * a crash test's pause point must be reached by its own campaign. Nothing when the schema is new.
   */
  static async settleSharedSchema(schema: string): Promise<void> {
    const admin = createDatabase<unknown>({
      url: stackEndpoints().databaseUrl,
      schema: 'ota_it_admin',
      pool: { max: 1 },
    });
    try {
      const { rows } = await sql<{
        table: string | null;
      }>`select to_regclass(${`${schema}.campaigns`})::text as table`.execute(admin);
      if (rows[0]?.table)
        await sql`update ${sql.id(schema, 'campaigns')} set state = 'CANCELLED'
          where state not in ('COMPLETED', 'CANCELLED', 'DENIED', 'DRAFT')`.execute(admin);
    } finally {
      await admin.destroy();
    }
  }

  /** A meter of a tenant (key pair held by the test), not yet in the registry's projection. */
  meter(tenantId: string, deviceId: string): TestMeter {
    return this.meters.add(tenantId, deviceId);
  }

  /**
   * The device API as this meter calls it. The one place the transport is chosen: today a header the
   * test-only edge reads, tomorrow the real mutual-TLS listener with the meter's certificate.
   */
  device(meter: TestMeter): OtaDeviceClient {
    return new OtaDeviceClient(this.url, meter);
  }

  /** Publishes as enrollment would (contract-checked, acknowledged by Kafka). */
  async publish<T extends EventEnvelope>(contract: TopicContract<T>, ...events: T[]): Promise<void> {
    this.producer ??= (async () => {
      const producer = new EventProducer({
        kafka: testKafka(),
        logger: createLogger({ service: 'ota-it', level: 'error' }),
        contracts: [ENROLLMENT_DEVICES, DEVICE_LIFECYCLE, ENROLLMENT_DECOMMISSION_REQUESTS],
      });
      await producer.connect();
      return producer;
    })();
    await (await this.producer).publishMany(contract, events);
  }

  /** The device's state in the distributor's projection, once it is `state` (waits for the consumer). */
  async waitForDevice(tenantId: string, deviceId: string, state: string): Promise<void> {
    await waitUntil(
      async () => {
        const row = await this.db
          .selectFrom('devices')
          .select('state')
          .where('tenant_id', '=', tenantId)
          .where('device_id', '=', deviceId)
          .executeTakeFirst();
        return row?.state === state ? true : undefined;
      },
      { timeoutMs: 30_000, description: `device ${deviceId} ${state} in the projection` },
    );
    // Seen committed; and heard by this replica's check-in views.
    await this.checkInViews.settle();
  }

  /** Enrolls devices as enrollment publishes them (ACTIVE, of `model`), and waits until projected. */
  async enroll(tenantId: string, deviceIds: readonly string[], model: string | undefined): Promise<void> {
    const now = new Date().toISOString();
    const events: EnrollmentDeviceEvent[] = deviceIds.map((deviceId) => ({
      eventId: randomUuid(),
      tenantId,
      occurredAt: now,
      deviceId,
      status: 'ACTIVE',
      credential: { kind: 'certificate', fingerprintSha256: randomBytes(32).toString('hex') },
      ...(model !== undefined && { model }),
    }));
    await this.publish(ENROLLMENT_DEVICES, ...events);
    for (const deviceId of deviceIds) await this.waitForDevice(tenantId, deviceId, 'ACTIVE');
  }

  /** A lifecycle transition as enrollment publishes it. */
  async lifecycle(
    tenantId: string,
    deviceId: string,
    type: DeviceLifecycleEvent['type'],
    state: DeviceLifecycleEvent['state'],
  ): Promise<void> {
    await this.publish(DEVICE_LIFECYCLE, {
      eventId: randomUuid(),
      tenantId,
      occurredAt: new Date().toISOString(),
      type,
      deviceId,
      state,
      actor: 'it-operator',
    });
    await this.waitForDevice(tenantId, deviceId, state);
  }

  /**
   * What a release needs before its manifest: the class (admin), the update authority's public key
   * (admin) and the image uploaded and verified (operator).
   */
  /** The manifest signed by the tenant's update authority, accepted by an operator's key. */
  async acceptManifest(
    operator: string,
    manifest: FirmwareManifest,
    authority: KeyObject,
  ): Promise<FirmwareManifestView> {
    const signed = signManifest(manifest, [{ privateKey: authority }]);
    const accepted = await fetch(`${this.url}/v1/firmware/manifests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: signed.envelopeBytes,
    });
    if (accepted.status !== 201) throw new Error(`manifest: ${accepted.status} ${await accepted.text()}`);
    return (await accepted.json()) as FirmwareManifestView;
  }

  async prepareRelease(release: {
    admin: string;
    operator: string;
    classId: string;
    vendorId: string;
    authority: KeyObject;
    image: Buffer;
  }): Promise<void> {
    const { admin, operator, classId, image } = release;
    const must = (answer: HttpResult, status: number, what: string) => {
      if (answer.status !== status) throw new Error(`${what}: ${answer.status} ${answer.text}`);
    };
    must(
      await this.request('PUT', `/v1/firmware/classes/${classId}`, {
        key: admin,
        json: { vendorId: release.vendorId },
      }),
      200,
      'device class',
    );
    must(
      await this.request('POST', '/v1/firmware/update-authorities', {
        key: admin,
        json: { publicKeyPem: release.authority.export({ type: 'spki', format: 'pem' }).toString() },
      }),
      201,
      'update authority',
    );
    const declared = await this.request<FirmwareImageUpload>('POST', '/v1/firmware/images', {
      key: operator,
      json: {
        classId,
        component: 'app',
        size: image.length,
        sha256: createHash('sha256').update(image).digest('hex'),
      },
    });
    must(declared, 201, 'image upload');
    const put = await fetch(declared.body.upload!.parts[0]!.url, { method: 'PUT', body: image });
    const done = await this.request<{ state: string }>(
      'POST',
      `/v1/firmware/images/${declared.body.image.imageId}/complete`,
      { key: operator, json: { parts: [{ partNumber: 1, etag: put.headers.get('etag') }] } },
    );
    must(done, 200, 'image completion');
    if (done.body.state !== 'verified') throw new Error(`image ${done.body.state}, not verified`);
  }

  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<HttpResult<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.key) headers.authorization = `Bearer ${options.key}`;
    let body: string | undefined;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${this.url}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed as T, text, headers: response.headers };
  }

  async stop(): Promise<void> {
    try {
      if (this.producer) await (await this.producer).disconnect();
      await this.service.stop();
    } finally {
      if (this.ownsSchema) await dropSchema(this.schema);
      rmSync(this.keyDir, { recursive: true, force: true });
    }
  }
}

/**
 * The built distributor (dist/) as a process of its own on the `ota` schema, as deployed: what a
 * crash test kills with SIGKILL and starts again. Its ticker runs every 100 ms unless `env` says.
 */
export async function startDistributorProcess(options: {
  enrollmentUrl: string;
  /** The firmware bucket of the in-process harness it shares the schema with. */
  bucket: string;
  logFile: string;
  env?: Record<string, string>;
}): Promise<ServiceProcess> {
  const stack = stackEnvFrom(process.env);
  if (!stack) throw new Error('The test stack is not set up; run this suite through vitest');
  // Its meters' listener serves the service's own platform certificate: no bootstrap to wait for.
  const identity = serviceIdentity('ota-distributor');
  const service = await startServiceProcess({
    name: 'ota-distributor',
    port: await freePort(),
    env: platformEnv(stack, {
      ENROLLMENT_INTERNAL_URL: options.enrollmentUrl,
      OTA_FIRMWARE_BUCKET: options.bucket,
      OTA_TLS_PORT: String(await freePort()),
      OTA_TLS_CERT_FILE: identity.SERVICE_TLS_CERT_FILE,
      OTA_TLS_KEY_FILE: identity.SERVICE_TLS_KEY_FILE,
      OTA_INSTANCE_ID: `it-${letters(8)}`,
      OTA_CAMPAIGN_TICK_MS: '100',
      LOG_LEVEL: 'info',
      ...options.env,
    }),
    logFile: options.logFile,
  });
  try {
    await service.waitReady(90_000);
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
}

/** The service's module with a test's own controllers beside it. */
@Module({})
class OtaTestRoot {}
const randomUuid = () => globalThis.crypto.randomUUID();

export interface DeviceResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  /** The body's exact bytes. */
  bytes: Buffer;
  /** The body parsed as JSON (undefined when empty or not JSON). */
  body: T;
}

const pathOf = (path: string, executionId: string) =>
  path.replace(':executionId', encodeURIComponent(executionId));

/** One meter's calls to the OTA device API (see OtaHarness.device). */
export class OtaDeviceClient {
  constructor(
    private readonly baseUrl: string,
    readonly meter: TestMeter,
  ) {}

  checkIn(query: OtaCheckInQuery, headers: Record<string, string> = {}) {
    return this.send(
      'GET',
      `${OTA_CHECK_IN.path}?${new URLSearchParams({ ...query }).toString()}`,
      undefined,
      headers,
    );
  }

  manifest(executionId: string) {
    return this.send('GET', pathOf(OTA_EXECUTION_MANIFEST.path, executionId));
  }

  downloadUrl(executionId: string, request: OtaDownloadUrlRequest | Record<string, unknown>) {
    return this.send('POST', pathOf(OTA_DOWNLOAD_URL.path, executionId), JSON.stringify(request));
  }

  status(executionId: string, report: OtaStatusReport | Record<string, unknown>) {
    return this.send('POST', pathOf(OTA_EXECUTION_STATUS.path, executionId), JSON.stringify(report));
  }

  /** The signed receipt's exact bytes (as libs/firmware signReceipt made them), or any other body. */
  receipt(executionId: string, body: Buffer | string) {
    return this.send('POST', pathOf(OTA_EXECUTION_RECEIPT.path, executionId), body);
  }

  /** Any request as this meter (the fuzz tests' raw access). */
  async send<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: Buffer | string,
    headers: Record<string, string> = {},
  ): Promise<DeviceResult<T>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        [TEST_METER_HEADER]: this.meter.handle,
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...headers,
      },
      body,
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    let parsed: unknown;
    try {
      parsed = bytes.length > 0 ? JSON.parse(bytes.toString('utf8')) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, bytes, body: parsed as T };
  }
}

/** Test schemas go with their run: a rerun starts from a clean slate. */
async function dropSchema(schema: string): Promise<void> {
  const admin = createDatabase<unknown>({
    url: stackEndpoints().databaseUrl,
    schema: 'ota_it_admin',
    pool: { max: 1 },
  });
  try {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin);
  } finally {
    await admin.destroy();
  }
}

/**
 * A campaign's kept counters per (phase, state) (the sum of their slots) beside a recount from its
 * executions: equal whenever every change moved its counters in its own transaction. With `slots`,
 * per (phase, state, slot): each slot counts exactly the executions whose id hashes to it.
 */
export async function countersAndRecount(
  db: Kysely<OtaDb>,
  campaignId: string,
  { slots = false }: { slots?: boolean } = {},
) {
  const kept = await db
    .selectFrom('campaign_phase_counts')
    .select([
      'phase',
      'state',
      ...(slots ? [sql<number>`slot::integer`.as('slot')] : []),
      sql<number>`sum(count)::integer`.as('count'),
    ])
    .where('campaign_id', '=', campaignId)
    .groupBy(['phase', 'state', ...(slots ? ['slot' as const] : [])])
    .having(sql<number>`sum(count)`, '>', 0)
    .orderBy('phase')
    .orderBy('state')
    .$if(slots, (q) => q.orderBy('slot'))
    .execute();
  const recount = await db
    .selectFrom('executions')
    .select([
      'phase',
      'state',
      ...(slots ? [sql<number>`campaign_count_slot(execution_id)`.as('slot')] : []),
      sql<number>`count(*)::integer`.as('count'),
    ])
    .where('campaign_id', '=', campaignId)
    .groupBy(['phase', 'state', ...(slots ? [sql`3`] : [])])
    .orderBy('phase')
    .orderBy('state')
    .$if(slots, (q) => q.orderBy(sql`3`))
    .execute();
  return { kept, recount };
}
