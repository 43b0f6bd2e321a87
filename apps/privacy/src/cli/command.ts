import type { Kysely } from 'kysely';
import { z } from 'zod';
import { ConfigError, kafkaEnv, kafkaSecurity, loadConfig, postgresEnv, s3Env } from '@meterkeep/config';
import { createDatabase, runMigrations } from '@meterkeep/db';
import { type KafkaClient, createKafkaClient } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import { ObjectStore, createS3Client } from '@meterkeep/storage';
import { privacyKekEnv } from '../config';
import type { PrivacyDb } from '../core/database';
import { KekEpochsRepository } from '../key-epochs/kek-epochs.repository';
import { KekRing } from '../key-epochs/kek-ring';
import { KekRingStore } from '../key-epochs/kek-ring-store';
import { migrations } from '../migrations';

/** What privacy's operator commands (cli.ts) talk through. */
export interface OperatorIo {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
  /** The PostgreSQL schema; the service's unless a test isolates itself. */
  schema?: string;
}

/** Every operator command works on the database and the KEK ring (S3); some read Kafka too. */
export const CliConfig = z.object({ ...postgresEnv, ...s3Env, ...privacyKekEnv });
export const CliKafkaConfig = CliConfig.extend(kafkaEnv);
export type CliConfig = z.infer<typeof CliConfig>;
export type CliKafkaConfig = z.infer<typeof CliKafkaConfig>;

/** What a command's argument parser answers for a usage error (exit 2) or --help (exit 0). */
export interface UsageExit {
  exit: 0 | 2;
  error?: string;
}

/**
 * A command's start: its parsed arguments and its settings, or the exit code once what is wrong is said
 * on stderr (a usage error with the usage; a setting by name, never its value: it may be a secret).
 */
export function startCommand<A extends object, T>(
  io: OperatorIo,
  usage: string,
  args: A | UsageExit,
  schema: z.ZodType<T>,
): { args: A; config: T } | number {
  if ('exit' in args) {
    if (args.error) io.err(`privacy: ${args.error}`);
    io.err(usage);
    return args.exit;
  }
  try {
    return { args, config: loadConfig(schema, io.env) };
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`privacy: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

export interface OperatorResources {
  db: Kysely<PrivacyDb>;
  store: ObjectStore;
  epochs: KekEpochsRepository;
  ring: KekRing;
}

interface Needs {
  /** Pool size: the commands run one thing at a time. */
  pool: number;
  /** Migrate the schema first (commands that may meet a database older than themselves and write). */
  migrate: boolean;
}

/**
 * Opens the database (migrated first when `migrate`), the object store and, given `kafka` (its client
 * id), a Kafka client; runs `use` on them and closes them whatever happens. A failure is said on
 * stderr and exits 1.
 */
export function withResources(
  io: OperatorIo,
  config: CliKafkaConfig,
  needs: Needs & { kafka: string },
  use: (resources: OperatorResources & { kafka: KafkaClient }) => Promise<number>,
): Promise<number>;
export function withResources(
  io: OperatorIo,
  config: CliConfig,
  needs: Needs,
  use: (resources: OperatorResources) => Promise<number>,
): Promise<number>;
export async function withResources(
  io: OperatorIo,
  config: CliConfig & Partial<CliKafkaConfig>,
  needs: Needs & { kafka?: string },
  use: (resources: OperatorResources & { kafka: KafkaClient }) => Promise<number>,
): Promise<number> {
  const schema = io.schema ?? 'privacy';
  const db = createDatabase<PrivacyDb>({ url: config.DATABASE_URL, schema, pool: { max: needs.pool } });
  const store = new ObjectStore(
    createS3Client({
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      accessKeyId: config.S3_ACCESS_KEY_ID,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
    }),
  );
  try {
    if (needs.migrate) await runMigrations(db, { schema, migrations });
    const epochs = new KekEpochsRepository(db);
    const ring = new KekRing(epochs, new KekRingStore(store, config), config);
    // A Kafka client holds no connection: its admins and consumers are closed by whoever opens them.
    const kafka = needs.kafka === undefined ? undefined : openKafka(config as CliKafkaConfig, needs.kafka);
    // Undefined only for a command that asked for no Kafka (the overload without it).
    return await use({ db, store, epochs, ring, kafka: kafka as KafkaClient });
  } catch (error) {
    io.err(`privacy: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    store.client.destroy();
    await db.destroy();
  }
}

function openKafka(config: CliKafkaConfig, clientId: string): KafkaClient {
  return createKafkaClient({
    clientId,
    brokers: config.KAFKA_BROKERS,
    ...kafkaSecurity(config),
    logger: createLogger({ service: clientId, level: 'error' }),
  });
}
