import { type StackSettings, StackError } from './settings';
import { runningPid, sleep } from './processes';

/**
 * The real requests that tell whether a server answers, and the one that provisions PostgreSQL. Each
 * rejects unless the server answered. Made with the wrapping libraries (@meterkeep/kafka, storage,
 * db, cache), which this library does not import: their own tests use the harness built on it.
 * @meterkeep/local-stack-cli supplies them.
 */
export interface StackClients {
  /** `SELECT 1` over a connection to `url`. */
  postgresSelect1(url: string): Promise<void>;
  /** Connected as `adminUrl`'s user: role `role` (LOGIN) and database `database` owned by it exist. */
  postgresProvision(adminUrl: string, role: string, database: string): Promise<void>;
  /** PING. */
  redisPing(url: string): Promise<void>;
  /** As the server's admin (`url`'s user): each ACL user exists with exactly these rules and password. */
  redisSetUsers(url: string, users: { username: string; password: string; rules: string[] }[]): Promise<void>;
  /** An admin request (describe the cluster) that lists at least one broker, as `admin`. */
  kafkaDescribeCluster(brokers: string[], admin: KafkaAdminConnection): Promise<void>;
  /**
   * As `admin`: every platform topic and its dead-letter topic exists, and each service's ACLs (from
   * the contracts) are in place for the principal `principals` names. Idempotent.
   */
  kafkaProvision(
    brokers: string[],
    admin: KafkaAdminConnection,
    principals: Record<string, string>,
  ): Promise<void>;
  /** ListBuckets, signed with SigV4, path-style. */
  s3ListBuckets(server: {
    endpoint: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
  }): Promise<void>;
}

/** How the stack's own clients reach its Kafka: TLS with the stack CA, SCRAM as the admin user. */
export interface KafkaAdminConnection {
  caPem: string;
  username: string;
  password: string;
}

/** What every part of the stack is given: where things are, how to report, and how it was called. */
export interface StackContext {
  settings: StackSettings;
  clients: StackClients;
  env: NodeJS.ProcessEnv;
  /** Progress lines (the CLI prints them to stderr as `stack.sh: <line>`). */
  say: (line: string) => void;
  /** How to call the stack in advice such as "run '<self> down' first". */
  self: string;
  /** When the command began (ms since the epoch), for the timings it reports. */
  startedAt: number;
}

/** One readiness question: a real request to the server; true when it answered. */
export type Probe = () => Promise<boolean>;

/** Turns a health check that throws into a yes/no answer. */
export async function answers(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch {
    return false;
  }
}

/** Polls `probe` until it answers; fails at once when our server's process has gone. */
export async function waitReady(
  context: StackContext,
  name: string,
  probe: Probe,
  logFile: string,
  server?: { pidFile: string; marker: string },
): Promise<void> {
  const { waitSeconds } = context.settings;
  const deadline = Date.now() + waitSeconds * 1000;
  while (!(await probe())) {
    if (server && (await runningPid(server.pidFile, server.marker)) === undefined)
      throw new StackError(`${name} exited during start-up; see ${logFile}`);
    if (Date.now() >= deadline)
      throw new StackError(`${name} did not answer within ${waitSeconds}s; see ${logFile}`);
    await sleep(300);
  }
}
