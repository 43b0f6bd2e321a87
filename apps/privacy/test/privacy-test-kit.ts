// Test-only harness: privacy in-process on the real stack, in a schema of its own, authenticating its
// callers against a REAL enrollment service run as built (dist/), as it is deployed.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Kysely, sql } from 'kysely';
import { ALL_TOPICS, type MeterEvent, type TelemetryReadingEvent } from '@meterkeep/contracts';
import { createDatabase } from '@meterkeep/db';
import { DATABASE } from '@meterkeep/db/nest';
import { type KafkaClient as Kafka, createKafkaClient, ensureTopics } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import { readingEventId, sealReadings } from '@meterkeep/reading-seal';
import {
  CONFIG,
  type ConsumerTuning,
  InternalListenerHost,
  type RunningService,
  startService,
} from '@meterkeep/service-runtime';
import {
  internalCall,
  type ServiceIdentityPems,
  serviceIdentity,
  serviceStackEnv,
  stackEndpoints,
  type HttpResult,
  type RequestOptions,
} from '@meterkeep/testing';
import { AppModule, releaseTransport } from '../src/app.module';
import { PrivacyConfig } from '../src/config';
import type { PrivacyDb } from '../src/core/database';
import { openArchive } from '../src/exports/export-archive';
import { setupOpenApi } from '../src/openapi/openapi';

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
    clientId: `privacy-it-${letters(6)}`,
    ...stackEndpoints().kafka,
    logger: createLogger({ service: 'privacy-it', level: 'error' }),
  });
}

export interface PrivacyOptions {
  /** Where privacy asks enrollment about API keys: its internal listener. */
  enrollmentUrl: string;
  /** PRIVACY_DATA_KEY_GRANTS: per decrypting consumer, the tenants whose keys it may read. */
  dataKeyGrants?: Record<string, string[]>;
  /** Further settings (e.g. PRIVACY_KEK_CHECK_INTERVAL_S: '0' to drive KEK epochs by hand). */
  env?: Record<string, string>;
  /** Runs the release gate's consumer too, with these settings (its group, where it starts). */
  release?: ConsumerTuning;
  /** Reuse a schema a stopped harness kept (a restart); a new one by default. */
  schema?: string;
}

/** The privacy service started in-process on port 0, with its own schema. */
export class PrivacyHarness {
  private constructor(
    readonly service: RunningService,
    readonly schema: string,
    /** Every line the service logged, as JSON text. */
    readonly logs: string[],
  ) {}

  get url(): string {
    return this.service.url;
  }

  /** The service's validated settings (PRIVACY_KEK included: tests only). */
  get config(): PrivacyConfig {
    return this.service.app.get<PrivacyConfig>(CONFIG);
  }

  get db(): Kysely<PrivacyDb> {
    return this.service.app.get<Kysely<PrivacyDb>>(DATABASE);
  }

  /** The internal listener (mutual TLS with the local platform CA). */
  get internalUrl(): string {
    return this.service.app.get(InternalListenerHost).url;
  }

  static async start({
    enrollmentUrl,
    dataKeyGrants = {},
    env = {},
    release,
    schema = `privacy_it_${letters(10)}`,
  }: PrivacyOptions): Promise<PrivacyHarness> {
    const stack = stackEndpoints();
    const config = PrivacyConfig.parse({
      ...serviceStackEnv('privacy'),
      KAFKA_CLIENT_ID: `privacy-it-${letters(6)}`,
      DATABASE_URL: stack.databaseUrl,
      DATABASE_POOL_MAX: '5',
      S3_ENDPOINT: stack.s3.endpoint,
      S3_REGION: stack.s3.region,
      S3_ACCESS_KEY_ID: stack.s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: stack.s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: String(stack.s3.forcePathStyle),
      PRIVACY_KEK: randomBytes(32).toString('base64'),
      ...serviceIdentity('privacy'),
      INTERNAL_PORT: '0',
      HOST: '127.0.0.1',
      ENROLLMENT_INTERNAL_URL: enrollmentUrl,
      PRIVACY_DATA_KEY_GRANTS: JSON.stringify(dataKeyGrants),
      LOG_LEVEL: 'debug',
      // The suites' fixtures date occupancies from early 2026 and close them months later: beyond the
      // default back-dating bound (90 days) once those dates are old. The bound has its own test
      // (change-of-tenancy.int-spec.ts), which sets it.
      PRIVACY_MAX_BACKDATE_DAYS: '3650',
      ...env,
    });
    const logs: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const logger = createLogger({ service: 'privacy', level: 'debug', destination });
    await ensureTopics(testKafka(), ALL_TOPICS, { deadLetter: true });
    const service = await startService({
      name: 'privacy',
      module: AppModule.forRoot(config, logger, { schema }),
      port: 0,
      host: '127.0.0.1',
      logger,
      configure: setupOpenApi,
      ...(release && { transports: [releaseTransport(config, logger, release)] }),
    }).catch(async (error: unknown) => {
      await dropSchema(schema);
      throw error;
    });
    return new PrivacyHarness(service, schema, logs);
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

  /** A third party's daily consent by opt-in, as the release tests grant it (status checked by the caller). */
  grantThirdPartyDaily(
    key: string,
    occupancyId: string,
    options: { historicalFrom: string; effectiveTo: string; evidenceRef: string; recipient?: string },
  ): Promise<HttpResult> {
    return this.request('POST', `/v1/occupancies/${occupancyId}/consents`, {
      key,
      json: {
        action: 'grant',
        purpose: 'third-party',
        recipient: options.recipient ?? 'third-party:coach',
        granularity: 'daily',
        basis: 'consent',
        evidenceRef: options.evidenceRef,
        historicalFrom: options.historicalFrom,
        effectiveTo: options.effectiveTo,
      },
    });
  }

  /**
   * A GET of an internal route on the internal listener as service `as` (its platform certificate;
   * the ingest by default), one of the test's own making, or with none (null).
   */
  internal<T = Record<string, unknown>>(
    path: string,
    as: string | ServiceIdentityPems | null = 'telemetry-ingest',
  ) {
    return internalCall<T>(this.internalUrl, path, { as, method: 'GET' });
  }

  async outboxSize(): Promise<number> {
    const { count } = await this.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(count);
  }

  /** Stops the service and drops its schema, unless kept for a restart (`keepSchema`). */
  async stop({ keepSchema = false }: { keepSchema?: boolean } = {}): Promise<void> {
    try {
      await this.service.stop();
    } finally {
      if (!keepSchema) await dropSchema(this.schema);
    }
  }
}

/** Test schemas go with their run: a rerun starts from a clean slate. */
async function dropSchema(schema: string): Promise<void> {
  const admin = createDatabase<unknown>({
    url: stackEndpoints().databaseUrl,
    schema: 'privacy_it_admin',
    pool: { max: 1 },
  });
  try {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin);
  } finally {
    await admin.destroy();
  }
}

/**
 * Downloads a READY export through its presigned link, checks its digest and that no reading is in the
 * clear, opens it with the one-time key and unpacks it with tar into a new directory under `dir`.
 */
export async function downloadExport(
  body: {
    exportId: string;
    summary: Record<string, number | string> | null;
    download: { url: string; archiveKey: string } | null;
  },
  dir: string,
) {
  const response = await fetch(body.download!.url);
  if (response.status !== 200) throw new Error(`export download answered ${response.status}`);
  const sealed = Buffer.from(await response.arrayBuffer());
  if (createHash('sha256').update(sealed).digest('hex') !== body.summary!.archiveSha256)
    throw new Error('export archive digest differs from its summary');
  // Sealed at rest: no reading value in the clear in the object.
  if (sealed.includes(Buffer.from('intervalStart')))
    throw new Error('export archive holds readings in clear');
  const tar = openArchive(sealed, Buffer.from(body.download!.archiveKey, 'base64'), body.exportId);
  const out = await mkdtemp(join(dir, 'archive-'));
  await writeFile(join(out, 'archive.tar'), tar);
  execFileSync('tar', ['-xf', 'archive.tar'], { cwd: out });
  const file = (name: string) => readFile(join(out, name));
  return { file, json: async <T>(name: string) => JSON.parse((await file(name)).toString()) as T };
}

/**
 * One sealed record per UTC day from `from` (epoch ms), each that day's 48 half-hourly readings of 2 Wh
 * (and the day's `events`), under `key`, as the ingest seals them; batch ids `b-<run>-<day start>`.
 */
export function sealedDays(options: {
  tenantId: string;
  meterId: string;
  key: { keyId: string; key: Buffer };
  from: number;
  days: number;
  run: string;
  events?: (dayStart: number) => MeterEvent[];
}): TelemetryReadingEvent[] {
  const { tenantId, meterId, key } = options;
  return Array.from({ length: options.days }, (_, d): TelemetryReadingEvent => {
    const start = options.from + d * 86_400_000;
    const batchId = `b-${options.run}-${start}`;
    const payload = {
      batchId,
      readings: Array.from({ length: 48 }, (_, i) => ({
        obis: '1-0:1.8.0*255',
        intervalStart: new Date(start + i * 1_800_000).toISOString(),
        intervalMinutes: 30,
        value: 2,
        scaler: 0,
        unit: 'Wh' as const,
      })),
      events: options.events?.(start) ?? [],
    };
    const context = { eventId: readingEventId(tenantId, meterId, batchId, key.keyId), tenantId, meterId };
    return { ...context, occurredAt: new Date().toISOString(), ...sealReadings(payload, key, context) };
  });
}
