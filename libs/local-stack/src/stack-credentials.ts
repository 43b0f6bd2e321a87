import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLATFORM_SERVICES, type PlatformService } from '@meterkeep/contracts';
import { REDIS_KEY_PREFIXES, type RedisService } from '@meterkeep/config';
import type { StackSettings } from './settings';

/** The stack's Kafka super user: creates topics and ACLs; the test harness's own connections. */
export const KAFKA_ADMIN_USER = 'meterkeep-admin';
export const KAFKA_SASL_MECHANISM = 'scram-sha-512';
export type KafkaPrincipal = PlatformService | 'admin';

interface UserFile {
  username: string;
  passwordFile: string;
}

/**
 * Who may connect to the stack, and where each one's password is: no secret in it, so it can be read
 * by any test process (services.json in the credentials dir). The passwords are files beside it
 * (owner-only), as a Kubernetes Secret would be mounted.
 */
export interface StackCredentials {
  dir: string;
  /** The stack CA that signed the broker's certificate: what clients trust. */
  kafkaCaFile: string;
  kafka: Record<KafkaPrincipal, UserFile>;
  redis: Record<RedisService, UserFile & { keyPrefix: string }>;
}

const MANIFEST = 'services.json';

function passwordFile(dir: string, name: string): string {
  const file = join(dir, `${name}.password`);
  if (!existsSync(file)) {
    try {
      writeFileSync(file, randomBytes(24).toString('hex'), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process made it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return file;
}

/** Reads a password file (never to be printed). */
export function readPassword(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

/**
 * The stack's users, made on first use and kept: a Kafka SCRAM user per service and the admin, and
 * a Redis ACL user per service that uses Redis, named with the checkout's stackId (the machine's Redis
 * is shared by checkouts).
 */
export function stackCredentials(settings: StackSettings): StackCredentials {
  const dir = settings.credentialsDir;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const kafka = Object.fromEntries(
    (['admin', ...PLATFORM_SERVICES] as KafkaPrincipal[]).map((principal) => [
      principal,
      {
        username: principal === 'admin' ? KAFKA_ADMIN_USER : principal,
        passwordFile: passwordFile(dir, `kafka-${principal}`),
      },
    ]),
  ) as StackCredentials['kafka'];
  const redis = Object.fromEntries(
    (Object.keys(REDIS_KEY_PREFIXES) as RedisService[]).map((service) => [
      service,
      {
        username: `mk-${settings.stackId}-${service}`,
        passwordFile: passwordFile(dir, `redis-${service}`),
        keyPrefix: REDIS_KEY_PREFIXES[service],
      },
    ]),
  ) as StackCredentials['redis'];
  const credentials: StackCredentials = { dir, kafkaCaFile: join(dir, 'kafka-ca.pem'), kafka, redis };
  writeFileSync(join(dir, MANIFEST), `${JSON.stringify(credentials, null, 2)}\n`);
  return credentials;
}

/** The credentials a stack made, from the dir `stack.sh env` names (METERKEEP_STACK_CREDENTIALS). */
export function readStackCredentials(dir: string): StackCredentials {
  return JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as StackCredentials;
}

/**
 * The variables that connect one principal to the stack's Kafka (and, for a service that uses Redis,
 * to Redis as its ACL user). What `stack.sh env <service>` prints and the test harness hands each
 * service: the one place a service's identity on the stack is decided.
 */
export function principalEnv(
  principal: KafkaPrincipal,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const dir = env.METERKEEP_STACK_CREDENTIALS;
  // A stack without credentials (containers, an older stack): plain connections.
  if (!dir) return {};
  const credentials = readStackCredentials(dir);
  const user = credentials.kafka[principal];
  const out: Record<string, string> = {
    KAFKA_SSL_CA_FILE: credentials.kafkaCaFile,
    KAFKA_SASL_MECHANISM,
    KAFKA_SASL_USERNAME: user.username,
    KAFKA_SASL_PASSWORD_FILE: user.passwordFile,
  };
  const redis = principal === 'admin' ? undefined : credentials.redis[principal as RedisService];
  if (redis) {
    out.REDIS_USERNAME = redis.username;
    out.REDIS_PASSWORD_FILE = redis.passwordFile;
  }
  return out;
}
