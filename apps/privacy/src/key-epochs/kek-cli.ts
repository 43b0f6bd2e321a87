import { parseArgs } from 'node:util';
import { AuditChainRepository } from '@meterkeep/audit';
import { asksForVersion, versionLine } from '@meterkeep/config';
import { AuditLog } from '../audit/audit-log';
import { type OperatorIo, CliConfig, type UsageExit, startCommand, withResources } from '../cli/command';
import type { PrivacyDb } from '../core/database';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { backupsRecoverableUntil } from './kek-epoch-policy';
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

export type CliIo = OperatorIo;

type Command = { kind: 'status' } | { kind: 'rotate'; force: boolean };

function parseCommand(argv: string[]): Command | UsageExit {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    return { exit: 2, error: error instanceof Error ? error.message : String(error) };
  }
  const { positionals, values } = parsed;
  if (values.help) return { exit: 0 };
  const [group, verb, ...extra] = positionals;
  if (group !== 'kek' || extra.length > 0)
    return { exit: 2, error: `unknown command: ${positionals.join(' ') || '(none)'}` };
  if (verb === 'status' && values.force === undefined) return { kind: 'status' };
  if (verb === 'rotate') return { kind: 'rotate', force: values.force === true };
  return { exit: 2, error: `unknown command: ${positionals.join(' ')}${values.force ? ' --force' : ''}` };
}

/** The operator's command line for KEK epochs, straight on the database and the ring. Returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (asksForVersion(argv)) {
    io.out(versionLine('privacy'));
    return 0;
  }
  const start = startCommand(io, USAGE, parseCommand(argv), CliConfig);
  if (typeof start === 'number') return start;
  const { args: command, config } = start;
  return withResources(io, config, { pool: 3, migrate: true }, async ({ db, epochs, ring }) => {
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
      ring,
      new AuditLog<PrivacyDb>(new AuditChainRepository(), new OutboxRepository()),
      new Transactions(db, { nudge: () => undefined }),
      config,
    );
    const report = await rotate.execute({ force: command.force, actor: CLI_ACTOR });
    io.out(JSON.stringify(report, null, 2));
    if (report.busy) io.err('privacy: another rotation holds the lock; nothing was done');
    return report.busy ? 1 : 0;
  });
}
