// Test-only harness: the enrollment app in-process on the real stack, in a schema of its own.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { type Kysely, sql } from 'kysely';
import { ALL_TOPICS, type AuditEvent, DEVICE_LIFECYCLE } from '@meterkeep/contracts';
import { createDatabase } from '@meterkeep/db';
import { DATABASE } from '@meterkeep/db/nest';
import { type KafkaClient as Kafka, createKafkaClient, ensureTopics } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import { InternalListenerHost, type RunningService, startService } from '@meterkeep/service-runtime';
import {
  internalCall,
  serviceIdentity,
  serviceStackEnv,
  stackEndpoints,
  startGroupAtEnd,
  type TopicTap,
  uniqueName,
} from '@meterkeep/testing';
import { AppModule, lifecycleTransport } from '../src/app.module';
import { EnrollmentConfig } from '../src/config';
import type { EnrollmentDb } from '../src/core/database';
import { setupOpenApi } from '../src/openapi/openapi';
import { CreateTenantUseCase } from '../src/tenants/create-tenant.use-case';

export { TopicTap, type TappedRecord, waitUntil } from '@meterkeep/testing';

/** A tenant's audit records as a tap saw them, in chain order. */
export function auditChainOf(tap: TopicTap, tenantId: string): AuditEvent[] {
  return tap.records
    .filter((r) => r.json.tenantId === tenantId)
    .map((r) => r.json as unknown as AuditEvent)
    .sort((a, b) => a.sequence - b.sequence);
}

const letters = (n: number) => Array.from(randomBytes(n), (b) => String.fromCharCode(97 + (b % 26))).join('');

/** A tenant id no other run uses (tenant ids are lowercase, digits and hyphens). */
export const uniqueTenant = (prefix = 't') => uniqueName(prefix).toLowerCase();

export interface HttpResult<T = unknown> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export interface RequestOptions {
  key?: string;
  json?: unknown;
  body?: RequestInit['body'];
  contentType?: string;
  headers?: Record<string, string>;
}

/** Only the raw clients of the real stack: for reading topics as bootstrap would. */
export function testKafka(): Kafka {
  return createKafkaClient({
    clientId: `enrollment-it-${letters(6)}`,
    ...stackEndpoints().kafka,
    logger: createLogger({ service: 'enrollment-it', level: 'error' }),
  });
}

/** The enrollment service started in-process on port 0, with its own schema and consumer group. */
export class EnrollmentHarness {
  readonly kafka = testKafka();

  private constructor(
    readonly service: RunningService,
    readonly schema: string,
    /** Every line the service logged, as JSON text. */
    readonly logs: string[],
  ) {}

  get url(): string {
    return this.service.url;
  }

  /** The internal listener (mutual TLS with the local platform CA). */
  get internalUrl(): string {
    return this.service.app.get(InternalListenerHost).url;
  }

  /** A call to an internal route as service `as` (its platform certificate), or with none (null). */
  internal<T = Record<string, unknown>>(path: string, json: unknown, as: string | null) {
    return internalCall<T>(this.internalUrl, path, { as, json });
  }

  get db(): Kysely<EnrollmentDb> {
    return this.service.app.get<Kysely<EnrollmentDb>>(DATABASE);
  }

  /** `env` adds to or overrides the service's environment (e.g. the decommission signing key). */
  static async start(env: Record<string, string> = {}): Promise<EnrollmentHarness> {
    const stack = stackEndpoints();
    const schema = `enrollment_it_${letters(10)}`;
    const config = EnrollmentConfig.parse({
      ...serviceStackEnv('enrollment'),
      KAFKA_CLIENT_ID: `enrollment-it-${letters(6)}`,
      DATABASE_URL: stack.databaseUrl,
      DATABASE_POOL_MAX: '5',
      ENROLLMENT_PSK_KEK: randomBytes(32).toString('base64'),
      ...serviceIdentity('enrollment'),
      INTERNAL_PORT: '0',
      HOST: '127.0.0.1',
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
    const logger = createLogger({ service: 'enrollment', level: 'debug', destination });
    const kafka = testKafka();
    // The lifecycle consumer's group starts at the topic's end: earlier runs' events are not ours.
    await ensureTopics(kafka, ALL_TOPICS, { deadLetter: true });
    const groupId = `enrollment-it-${letters(10)}`;
    await startGroupAtEnd(kafka, groupId, DEVICE_LIFECYCLE.name);
    const service = await startService({
      name: 'enrollment',
      module: AppModule.forRoot(config, logger, { schema }),
      port: 0,
      host: '127.0.0.1',
      logger,
      transports: [
        lifecycleTransport(config, logger, {
          groupId,
          sessionTimeout: 6_000,
          heartbeatInterval: 500,
          rebalanceTimeout: 10_000,
          maxWaitTimeInMs: 200,
          retry: { attempts: 3, initialMs: 20, maxMs: 100 },
        }),
      ],
      configure: setupOpenApi,
    }).catch(async (error: unknown) => {
      await dropSchema(schema);
      throw error;
    });
    return new EnrollmentHarness(service, schema, logs);
  }

  /** A new tenant and its admin key, as the CLI makes them. */
  async tenant(prefix = 't'): Promise<{ tenantId: string; adminKey: string }> {
    const tenantId = uniqueTenant(prefix);
    const created = await this.service.app
      .get(CreateTenantUseCase)
      .execute({ tenantId, name: `Test ${tenantId}`, actor: 'cli' });
    return { tenantId, adminKey: created.adminApiKey };
  }

  /** A key of `role` made through the API with an admin key. */
  async key(adminKey: string, role: 'admin' | 'operator' | 'auditor'): Promise<string> {
    const created = await this.request<{ apiKey: string }>('POST', '/v1/api-keys', {
      key: adminKey,
      json: { role },
    });
    if (created.status !== 201)
      throw new Error(`creating a ${role} key answered ${created.status}: ${created.text}`);
    return created.body.apiKey;
  }

  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<HttpResult<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.key) headers.authorization = `Bearer ${options.key}`;
    let body = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    }
    if (options.contentType) headers['content-type'] = options.contentType;
    const init: RequestInit & { duplex?: 'half' } = { method, headers, body };
    if (body instanceof ReadableStream) init.duplex = 'half';
    const response = await fetch(`${this.url}${path}`, init);
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed as T, text, headers: response.headers };
  }

  /** Events still waiting in the outbox. */
  async outboxSize(): Promise<number> {
    const { count } = await this.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(count);
  }

  async stop(): Promise<void> {
    try {
      await this.service.stop();
    } finally {
      await dropSchema(this.schema);
    }
  }
}

/** Test schemas go with their run: a rerun starts from a clean slate. */
async function dropSchema(schema: string): Promise<void> {
  const admin = createDatabase<unknown>({
    url: stackEndpoints().databaseUrl,
    schema: 'enrollment_it_admin',
    pool: { max: 1 },
  });
  try {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin);
  } finally {
    await admin.destroy();
  }
}
