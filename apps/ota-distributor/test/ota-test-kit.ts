// Test-only harness: the OTA distributor in-process on the real stack (PostgreSQL, S3Proxy, Kafka), in a
// schema and a bucket of its own, authenticating its callers against a REAL enrollment service run as
// built (dist/), as it is deployed.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Module, type Type } from '@nestjs/common';
import { type Kysely, sql } from 'kysely';
import { ALL_TOPICS } from '@meterkeep/contracts';
import { createDatabase } from '@meterkeep/db';
import { DATABASE } from '@meterkeep/db/nest';
import { type KafkaClient as Kafka, createKafkaClient, ensureTopics } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import { type RunningService, startService } from '@meterkeep/service-runtime';
import { ObjectStore } from '@meterkeep/storage';
import {
  serviceIdentity,
  serviceStackEnv,
  stackEndpoints,
  type HttpResult,
  type RequestOptions,
} from '@meterkeep/testing';
import { AppModule } from '../src/app.module';
import { OtaDistributorConfig } from '../src/config';
import type { OtaDb } from '../src/core/database';
import { configureHttp } from '../src/configure-http';
import { DeviceListener } from '../src/device-api/device-listener';

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
}

/** The OTA distributor started in-process on port 0, with its own schema and firmware bucket. */
export class OtaHarness {
  private constructor(
    readonly service: RunningService,
    readonly schema: string,
    readonly bucket: string,
    /** Every line the service logged, as JSON text. */
    readonly logs: string[],
  ) {}

  get url(): string {
    return this.service.url;
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
  }: OtaOptions): Promise<OtaHarness> {
    const stack = stackEndpoints();
    const schema = `ota_it_${letters(10)}`;
    const bucket = `ota-it-${letters(10)}`;
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
    await ensureTopics(testKafka(), ALL_TOPICS, { deadLetter: true });
    const app = AppModule.forRoot(config, logger, { schema, clock, followDeviceTopics });
    const service = await startService({
      name: 'ota-distributor',
      module: controllers.length === 0 ? app : { module: OtaTestRoot, imports: [app], controllers },
      port: 0,
      host: '127.0.0.1',
      logger,
      configure: configureHttp,
    }).catch(async (error: unknown) => {
      await dropSchema(schema);
      throw error;
    });
    return new OtaHarness(service, schema, bucket, logs);
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
      await this.service.stop();
    } finally {
      await dropSchema(this.schema);
    }
  }
}

/** The service's module with a test's own controllers beside it. */
@Module({})
class OtaTestRoot {}

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
