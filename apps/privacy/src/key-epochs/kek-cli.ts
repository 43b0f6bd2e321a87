import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AuditChainRepository } from '@meterkeep/audit';
import { ConfigError, asksForVersion, loadConfig, postgresEnv, s3Env, versionLine } from '@meterkeep/config';
import { createDatabase, runMigrations } from '@meterkeep/db';
import { ObjectStore, createS3Client } from '@meterkeep/storage';
import { AuditLog } from '../audit/audit-log';
import { privacyKekEnv } from '../config';
import type { PrivacyDb } from '../core/database';
import { migrations } from '../migrations';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { backupsRecoverableUntil } from './kek-epoch-policy';
import { KekEpochsRepository } from './kek-epochs.repository';
import { KekRing } from './kek-ring';
import { KekRingStore } from './kek-ring-store';
import { RotateKekUseCase } from './rotate-kek.use-case';

export const CLI_ACTOR = 'cli';

const USAGE = `usage:
  privacy kek status
      the KEK epochs: opened, retired, destroyed, live keys, and from when a backup can no longer
      bring back a key of each retired epoch (JSON on stdout)
  privacy kek rotate [--force]
      what the periodic check does, now: open a new epoch when due (--force: regardless), re-wrap every
      live key to it, destroy epochs retired longer than PRIVACY_BACKUP_RETENTION_DAYS (JSON report)
  privacy --version
environment: DATABASE_URL, S3_*, PRIVACY_KEK and PRIVACY_KEK_* / PRIVACY_BACKUP_RETENTION_DAYS as the service's`;

export interface CliIo {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
  /** The PostgreSQL schema; the service's unless a test isolates itself. */
  schema?: string;
}

type Command = { kind: 'status' } | { kind: 'rotate'; force: boolean };

function parseCommand(argv: string[]): Command | string {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  const { positionals, values } = parsed;
  if (values.help) return '';
  const [group, verb, ...extra] = positionals;
  if (group !== 'kek' || extra.length > 0) return `unknown command: ${positionals.join(' ') || '(none)'}`;
  if (verb === 'status' && values.force === undefined) return { kind: 'status' };
  if (verb === 'rotate') return { kind: 'rotate', force: values.force === true };
  return `unknown command: ${positionals.join(' ')}${values.force ? ' --force' : ''}`;
}

const CliConfig = z.object({ ...postgresEnv, ...s3Env, ...privacyKekEnv });

/** The operator's command line for KEK epochs, straight on the database and the ring. Returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (asksForVersion(argv)) {
    io.out(versionLine('privacy'));
    return 0;
  }
  const command = parseCommand(argv);
  if (typeof command === 'string') {
    if (command) io.err(`privacy: ${command}`);
    io.err(USAGE);
    return command ? 2 : 0;
  }
  let config;
  try {
    config = loadConfig(CliConfig, io.env);
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
  try {
    await runMigrations(db, { schema, migrations });
    const epochs = new KekEpochsRepository(db);
    if (command.kind === 'status') {
      const schedule = {
        rotationDays: config.PRIVACY_KEK_ROTATION_DAYS,
        backupRetentionDays: config.PRIVACY_BACKUP_RETENTION_DAYS,
      };
      const rows = await epochs.all();
      const status = await Promise.all(
        rows.map(async (epoch) => ({
          epoch: epoch.epoch,
          openedAt: epoch.opened_at.toISOString(),
          retiredAt: epoch.retired_at?.toISOString() ?? null,
          destroyedAt: epoch.destroyed_at?.toISOString() ?? null,
          liveKeys: await epochs.liveKeys(db, epoch.epoch),
          // From when no retained backup opens a key of it (null for epoch 0: while PRIVACY_KEK is kept).
          backupsUnrecoverableAfter: backupsRecoverableUntil(epoch, schedule).until?.toISOString() ?? null,
          estimated: backupsRecoverableUntil(epoch, schedule).estimated,
        })),
      );
      io.out(JSON.stringify({ epochs: status }, null, 2));
      return 0;
    }
    // The audit records go to the outbox; the running service publishes them.
    const rotate = new RotateKekUseCase(
      epochs,
      new KekRing(epochs, new KekRingStore(store, config), config),
      new AuditLog<PrivacyDb>(new AuditChainRepository(), new OutboxRepository()),
      new Transactions(db, { nudge: () => undefined }),
      config,
    );
    const report = await rotate.execute({ force: command.force, actor: CLI_ACTOR });
    io.out(JSON.stringify(report, null, 2));
    if (report.busy) io.err('privacy: another rotation holds the lock; nothing was done');
    return report.busy ? 1 : 0;
  } catch (error) {
    io.err(`privacy: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    store.client.destroy();
    await db.destroy();
  }
}
