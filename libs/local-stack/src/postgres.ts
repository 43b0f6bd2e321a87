import { readdirSync } from 'node:fs';
import { type StackContext, answers, waitReady } from './context';
import { onPath, runLogged } from './processes';
import { StackError } from './settings';

/** `SELECT 1` as postgres: the machine's PostgreSQL answers. */
export function postgresAnswers(context: StackContext): Promise<boolean> {
  return answers(() => context.clients.postgresSelect1(urlOf(context, 'postgres', 'postgres')));
}

function urlOf(context: StackContext, user: string, database: string): string {
  const { host, port } = context.settings.postgres;
  return `postgres://${user}@${host}:${port}/${database}`;
}

/** PostgreSQL answers (started with the machine's command if it did not); role and database exist. */
export async function postgresUp(context: StackContext): Promise<void> {
  const { host, port, database } = context.settings.postgres;
  if (!(await postgresAnswers(context))) {
    const pgCtl = onPath('pg_ctlcluster', context.env);
    let versions: string[] = [];
    try {
      versions = readdirSync('/etc/postgresql').sort((a, b) =>
        a.localeCompare(b, undefined, { numeric: true }),
      );
    } catch {
      // no Debian cluster layout
    }
    const version = versions.at(-1);
    if (!pgCtl || !version)
      throw new StackError(
        `PostgreSQL is not answering on ${host}:${port} and pg_ctlcluster is not available to start it; start PostgreSQL 15 yourself`,
      );
    context.say('starting PostgreSQL ...');
    const started = await runLogged(
      pgCtl,
      ['--skip-systemctl-redirect', version, 'main', 'start'],
      '/dev/null',
    );
    if (started !== 0)
      throw new StackError('could not start PostgreSQL with pg_ctlcluster; see /var/log/postgresql/');
    await waitReady(context, 'postgresql', () => postgresAnswers(context), '/var/log/postgresql/');
  }
  try {
    await context.clients.postgresProvision(urlOf(context, 'postgres', 'postgres'), 'meterkeep', database);
  } catch (error) {
    throw new StackError(
      `could not create role meterkeep / database ${database} (as postgres on ${host}:${port}): ${(error as Error).message}`,
      { cause: error },
    );
  }
  const ok = await answers(() => context.clients.postgresSelect1(urlOf(context, 'meterkeep', database)));
  if (!ok) throw new StackError(`SELECT 1 as meterkeep on database ${database} failed`);
}
