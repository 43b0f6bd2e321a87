import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { DEFAULT_PORTS } from '@meterkeep/config';
import { findWorkspaceRoot } from './workspace-root';

/** Where the local stack lives and listens; everything `stack.sh` reads from its environment. */
export interface StackSettings {
  /** deploy/local: the poms and log4j configuration kept in the repository. */
  deployDir: string;
  /** `METERKEEP_STACK_DIR` or <repo>/.local-stack: jars, data, logs, pid files, credentials. */
  stateDir: string;
  /** First 8 hex digits of the state dir's SHA-256: this checkout's share of PostgreSQL and Redis. */
  stackId: string;
  /** Users and password files of the stack's Kafka and Redis (owner-only; see stack-credentials.ts). */
  credentialsDir: string;
  postgres: { host: string; port: number; database: string };
  redis: { host: string; port: number; db: number };
  kafka: {
    port: number;
    controllerPort: number;
    heapOpts: string[];
    dir: string;
    lib: string;
    data: string;
    logs: string;
    pidFile: string;
    /** On the JVM's command line, so a pid file is never trusted for somebody else's process. */
    marker: string;
    pom: string;
    log4j: string;
    /** The broker's TLS key, certificate and the stack CA's key (owner-only). */
    tlsDir: string;
    /** Records which users the storage was formatted with (SCRAM credentials live in the metadata log). */
    securityMarker: string;
  };
  s3: {
    port: number;
    region: string;
    dir: string;
    lib: string;
    data: string;
    log: string;
    pidFile: string;
    credentials: string;
    config: string;
    marker: string;
    pom: string;
  };
  /** How long `up` waits for each server to answer (`STACK_WAIT_SECONDS`, 90). */
  waitSeconds: number;
}

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new StackError(`${name}=${value} is not a port`);
  return port;
}

/** A failure the stack explains itself: the CLI prints its message, without a stack trace. */
export class StackError extends Error {
  override name = 'StackError';
}

export function stackSettings(env: NodeJS.ProcessEnv = process.env): StackSettings {
  const repoRoot = findWorkspaceRoot();
  const deployDir = join(repoRoot, 'deploy/local');
  // Hashed as given (a relative METERKEEP_STACK_DIR too), so the database names stay what they were.
  const stateDirName = env.METERKEEP_STACK_DIR || join(repoRoot, '.local-stack');
  const stateDir = resolve(stateDirName);
  const stackId = createHash('sha256').update(stateDirName).digest('hex').slice(0, 8);
  const kafkaDir = join(stateDir, 'kafka');
  const s3Dir = join(stateDir, 's3proxy');
  const waitSeconds = Number(env.STACK_WAIT_SECONDS || 90);
  return {
    deployDir,
    stateDir,
    stackId,
    credentialsDir: join(stateDir, 'credentials'),
    postgres: {
      host: '127.0.0.1',
      port: DEFAULT_PORTS.stack.postgres,
      database: env.METERKEEP_PG_DB || `meterkeep_${stackId}`,
    },
    redis: {
      host: '127.0.0.1',
      port: DEFAULT_PORTS.stack.redis,
      db: env.METERKEEP_REDIS_DB
        ? Number(env.METERKEEP_REDIS_DB)
        : (parseInt(stackId.slice(0, 4), 16) % 10) + 1,
    },
    kafka: {
      port: portFrom(env, 'KAFKA_PORT', DEFAULT_PORTS.stack.kafka),
      controllerPort: portFrom(env, 'KAFKA_CONTROLLER_PORT', DEFAULT_PORTS.stack.kafkaController),
      heapOpts: (env.KAFKA_HEAP_OPTS || '-Xms256m -Xmx512m').split(/\s+/).filter(Boolean),
      dir: kafkaDir,
      lib: join(kafkaDir, 'lib'),
      data: join(kafkaDir, 'data'),
      logs: join(kafkaDir, 'logs'),
      pidFile: join(kafkaDir, 'kafka.pid'),
      marker: `-Dmeterkeep.stack=kafka:${stateDirName}`,
      pom: join(deployDir, 'kafka/pom.xml'),
      log4j: join(deployDir, 'kafka/log4j2.properties'),
      tlsDir: join(kafkaDir, 'tls'),
      securityMarker: join(kafkaDir, 'security-format.json'),
    },
    s3: {
      port: portFrom(env, 'S3_PORT', DEFAULT_PORTS.stack.s3),
      region: 'us-east-1',
      dir: s3Dir,
      lib: join(s3Dir, 'lib'),
      data: join(s3Dir, 'data'),
      log: join(s3Dir, 's3proxy.log'),
      pidFile: join(s3Dir, 's3proxy.pid'),
      credentials: join(s3Dir, 'credentials.env'),
      config: join(s3Dir, 's3proxy.properties'),
      marker: `-Dmeterkeep.stack=s3proxy:${stateDirName}`,
      pom: join(deployDir, 's3proxy/pom.xml'),
    },
    waitSeconds: Number.isFinite(waitSeconds) && waitSeconds > 0 ? waitSeconds : 90,
  };
}
