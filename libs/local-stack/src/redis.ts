import { mkdirSync } from 'node:fs';
import { type StackContext, answers, waitReady } from './context';
import { onPath, runLogged } from './processes';
import { StackError } from './settings';
import { readPassword, stackCredentials } from './stack-credentials';

/** PING on the machine's Redis. */
export function redisAnswers(context: StackContext): Promise<boolean> {
  const { host, port } = context.settings.redis;
  return answers(() => context.clients.redisPing(`redis://${host}:${port}`));
}

/** Redis answers; started with the machine's redis-server (no persistence) if it did not. */
export async function redisUp(context: StackContext): Promise<void> {
  if (await redisAnswers(context)) return;
  const { host, port } = context.settings.redis;
  const server = onPath('redis-server', context.env);
  if (!server)
    throw new StackError(
      `Redis is not answering on ${host}:${port} and redis-server is not installed; start Redis yourself`,
    );
  context.say('starting Redis ...');
  mkdirSync('/var/lib/redis', { recursive: true });
  mkdirSync('/var/log/redis', { recursive: true });
  const args = [
    '--daemonize',
    'yes',
    '--bind',
    '127.0.0.1',
    '-::1',
    '--port',
    String(port),
    '--save',
    '',
    '--appendonly',
    'no',
  ];
  args.push('--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log');
  if ((await runLogged(server, args, '/dev/null')) !== 0)
    throw new StackError('could not start redis-server; see /var/log/redis/ci.log');
  await waitReady(context, 'redis', () => redisAnswers(context), '/var/log/redis/ci.log');
}

/**
 * What a service's Redis ACL user may do: any key under its prefix, every command but the dangerous
 * ones (FLUSHDB, KEYS, CONFIG, DEBUG, ACL, CLIENT KILL…) except INFO, which ioredis' ready check
 * sends on connect. No Pub/Sub channels.
 */
export function redisAclRules(keyPrefix: string): string[] {
  return ['reset', 'on', `~${keyPrefix}:*`, 'resetchannels', '+@all', '-@dangerous', '+info'];
}

/** Each service's ACL user on the machine's Redis, with its password from the credentials dir. */
export async function redisProvision(context: StackContext): Promise<void> {
  const { host, port } = context.settings.redis;
  const credentials = stackCredentials(context.settings);
  await context.clients.redisSetUsers(
    `redis://${host}:${port}`,
    Object.values(credentials.redis).map(({ username, passwordFile, keyPrefix }) => ({
      username,
      password: readPassword(passwordFile),
      rules: redisAclRules(keyPrefix),
    })),
  );
}
