import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, kafkaEnv, kafkaSecurity, loadConfig, postgresEnv, s3Env } from '@meterkeep/config';
import { createDatabase, runMigrations } from '@meterkeep/db';
import { createKafkaClient } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import { ObjectStore, createS3Client } from '@meterkeep/storage';
import { privacyKekEnv } from '../config';
import type { PrivacyDb } from '../core/database';
import { DataKeyVault } from '../data-keys/data-key-vault';
import { DataKeysRepository } from '../data-keys/data-keys.repository';
import { KekEpochsRepository } from '../key-epochs/kek-epochs.repository';
import { KekRing } from '../key-epochs/kek-ring';
import { KekRingStore } from '../key-epochs/kek-ring-store';
import { migrations } from '../migrations';
import { RELEASE_GROUP } from '../release/release-group';
import { ReadingRangesRepository } from './reading-ranges.repository';
import { ReadingsIndexBackfill } from './readings-backfill';

export const BACKFILL_USAGE = `usage:
  privacy readings-index backfill [--batch <records>] [--rescan] [--release-group <group>]
      indexes the telemetry.readings.v1 records the readings index misses (consumed before it existed),
      from each partition's earliest offset to where the release group (default ${RELEASE_GROUP}) was
      when the backfill first ran; resumes at its checkpoint, adds nothing twice (re-running, or beside
      the live indexer). --batch: records per partition held before they are written (default 2000);
      --rescan: forget the checkpoints and scan again (indexes only what is still missing). JSON report.
environment: DATABASE_URL, S3_*, PRIVACY_KEK, KAFKA_* (a principal that may read the topic and describe
  the release group: the service's own)`;

export interface BackfillIo {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
  /** The PostgreSQL schema; the service's unless a test isolates itself. */
  schema?: string;
}

const BackfillConfig = z.object({ ...postgresEnv, ...s3Env, ...privacyKekEnv, ...kafkaEnv });

type Args = { batch: number; rescan: boolean; releaseGroup: string };

export function parseBackfillArgs(argv: string[]): Args | { exit: 0 | 2; error?: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        batch: { type: 'string' },
        rescan: { type: 'boolean' },
        'release-group': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return { exit: 2, error: error instanceof Error ? error.message : String(error) };
  }
  const { values, positionals } = parsed;
  if (values.help) return { exit: 0 };
  if (positionals.join(' ') !== 'backfill')
    return { exit: 2, error: `unknown command: readings-index ${positionals.join(' ')}` };
  const batch = values.batch === undefined ? 2000 : Number(values.batch);
  if (!Number.isInteger(batch) || batch < 1 || batch > 100_000)
    return { exit: 2, error: '--batch must be an integer from 1 to 100000' };
  return { batch, rescan: values.rescan === true, releaseGroup: values['release-group'] ?? RELEASE_GROUP };
}

/** `privacy readings-index backfill`: straight on the database, the KEK ring and the topic. */
export async function runReadingsBackfill(argv: string[], io: BackfillIo): Promise<number> {
  const args = parseBackfillArgs(argv);
  if ('exit' in args) {
    if (args.error) io.err(`privacy: ${args.error}`);
    io.err(BACKFILL_USAGE);
    return args.exit;
  }
  let config;
  try {
    config = loadConfig(BackfillConfig, io.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`privacy: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const schema = io.schema ?? 'privacy';
  const db = createDatabase<PrivacyDb>({ url: config.DATABASE_URL, schema, pool: { max: 3 } });
  const store = new ObjectStore(
    createS3Client({
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      accessKeyId: config.S3_ACCESS_KEY_ID,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
    }),
  );
  const kafka = createKafkaClient({
    clientId: 'privacy-readings-backfill',
    brokers: config.KAFKA_BROKERS,
    ...kafkaSecurity(config),
    logger: createLogger({ service: 'privacy-readings-backfill', level: 'error' }),
  });
  try {
    await runMigrations(db, { schema, migrations });
    const epochs = new KekEpochsRepository(db);
    const vault = new DataKeyVault(
      new DataKeysRepository(db),
      new KekRing(epochs, new KekRingStore(store, config), config),
    );
    const backfill = new ReadingsIndexBackfill(db, kafka, vault, new ReadingRangesRepository(db), {
      releaseGroup: args.releaseGroup,
      batch: args.batch,
    });
    io.out(JSON.stringify(await backfill.run({ rescan: args.rescan }), null, 2));
    return 0;
  } catch (error) {
    io.err(`privacy: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    store.client.destroy();
    await db.destroy();
  }
}
