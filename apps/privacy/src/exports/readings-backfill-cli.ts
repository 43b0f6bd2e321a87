import { parseArgs } from 'node:util';
import { type OperatorIo, CliKafkaConfig, type UsageExit, startCommand, withResources } from '../cli/command';
import { DataKeyVault } from '../data-keys/data-key-vault';
import { DataKeysRepository } from '../data-keys/data-keys.repository';
import { RELEASE_GROUP } from '../release/release-group';
import { ReadingRangesRepository } from './reading-ranges.repository';
import { ReadingsIndexBackfill } from './readings-backfill';

export const BACKFILL_USAGE = `usage:
  privacy readings-index backfill [--batch <records>] [--rescan] [--release-group <group>]
      indexes the telemetry.readings.v1 records the readings index misses (consumed before it existed),
      from each partition's earliest offset to where the release group (default ${RELEASE_GROUP}) starts,
      fixed when the backfill first ran: its committed offset (none: the earliest, where it starts, so
      that partition is left to it); resumes at its checkpoint, adds nothing twice (re-running, or beside
      the live indexer). --batch: records per partition held before they are written (default 2000);
      --rescan: forget the checkpoints and scan again (indexes only what is still missing). JSON report.
environment: DATABASE_URL, S3_*, PRIVACY_KEK, KAFKA_* (a principal that may read the topic and describe
  the release group: the service's own)`;

export type BackfillIo = OperatorIo;

type Args = { batch: number; rescan: boolean; releaseGroup: string };

export function parseBackfillArgs(argv: string[]): Args | UsageExit {
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
  const start = startCommand(io, BACKFILL_USAGE, parseBackfillArgs(argv), CliKafkaConfig);
  if (typeof start === 'number') return start;
  const { args, config } = start;
  const needs = { pool: 3, migrate: true, kafka: 'privacy-readings-backfill' };
  return withResources(io, config, needs, async ({ db, ring, kafka }) => {
    const vault = new DataKeyVault(new DataKeysRepository(db), ring);
    const backfill = new ReadingsIndexBackfill(db, kafka, vault, new ReadingRangesRepository(db), {
      releaseGroup: args.releaseGroup,
      batch: args.batch,
    });
    io.out(JSON.stringify(await backfill.run({ rescan: args.rescan }), null, 2));
    return 0;
  });
}
