import { join } from 'node:path';
import { type StackClients, type StackContext } from './context';
import { kafkaAnswers, kafkaStart, kafkaStop } from './kafka';
import { postgresAnswers, postgresUp } from './postgres';
import { runningPid } from './processes';
import { redisAnswers, redisProvision, redisUp } from './redis';
import { loadS3Credentials, s3Answers, s3Start, s3Stop } from './s3proxy';
import { StackError, stackSettings } from './settings';
import { type KafkaPrincipal, principalEnv, stackCredentials } from './stack-credentials';
import { type StackEnv } from './stack-env';
import { withStateLock } from './state-lock';
import { localDirectiveKeys } from './directive-keys';

export interface LocalStackOptions {
  /** The real requests behind readiness (see StackClients). */
  clients: StackClients;
  /** Where KAFKA_PORT, S3_PORT, METERKEEP_STACK_DIR… are read from; process.env unless set. */
  env?: NodeJS.ProcessEnv;
  /** Progress lines; silent unless set. */
  say?: (line: string) => void;
  /** How advice names the command ("run '<self> down' first"). */
  self?: string;
  startedAt?: number;
}

export interface ComponentStatus {
  name: 'postgres' | 'redis' | 'kafka' | 's3proxy';
  up: boolean;
  /** Where it listens, as the status line shows it. */
  address: string;
  /** Our server's pid (Kafka, S3Proxy) when its process runs. */
  pid?: number;
}

/**
 * The local infrastructure without containers: the machine's PostgreSQL and Redis, and Kafka (KRaft)
 * and S3Proxy fetched from Maven Central and run from the state dir. What deploy/local/stack.sh runs.
 */
export class LocalStack {
  readonly context: StackContext;

  constructor(options: LocalStackOptions) {
    const env = options.env ?? process.env;
    this.context = {
      settings: stackSettings(env),
      clients: options.clients,
      env,
      say: options.say ?? (() => undefined),
      self: options.self ?? 'deploy/local/stack.sh',
      startedAt: options.startedAt ?? Date.now(),
    };
  }

  get settings() {
    return this.context.settings;
  }

  /** Starts whatever does not answer (idempotent; a no-op when all is up). */
  up(): Promise<void> {
    return withStateLock(this.settings.stateDir, async () => {
      await postgresUp(this.context);
      await redisUp(this.context);
      await redisProvision(this.context);
      await kafkaStart(this.context);
      await s3Start(this.context);
      localDirectiveKeys(this.settings.stateDir);
      this.context.say(`stack is up (${Math.round(Date.now() - this.context.startedAt)} ms)`);
    });
  }

  /** Stops what `up` started (S3Proxy, Kafka); never the machine's PostgreSQL or Redis. */
  down(): Promise<void> {
    return withStateLock(this.settings.stateDir, async () => {
      await s3Stop(this.context);
      await kafkaStop(this.context);
      this.context.say("PostgreSQL and Redis are the machine's own servers and were left running");
    });
  }

  startKafka(): Promise<void> {
    return withStateLock(this.settings.stateDir, () => kafkaStart(this.context));
  }

  stopKafka(): Promise<void> {
    return withStateLock(this.settings.stateDir, () => kafkaStop(this.context));
  }

  /** Each component, asked a real request; Kafka and S3Proxy also by their pid files. */
  async status(): Promise<ComponentStatus[]> {
    const { postgres, redis, kafka, s3 } = this.settings;
    const [pgUp, redisUp, kafkaPid, s3Pid] = await Promise.all([
      postgresAnswers(this.context),
      redisAnswers(this.context),
      runningPid(kafka.pidFile, kafka.marker),
      runningPid(s3.pidFile, s3.marker),
    ]);
    const [kafkaUp, s3Up] = await Promise.all([
      kafkaPid !== undefined && kafkaAnswers(this.context),
      s3Pid !== undefined && s3Answers(this.context),
    ]);
    return [
      { name: 'postgres', up: pgUp, address: `${postgres.host}:${postgres.port}` },
      { name: 'redis', up: redisUp, address: `${redis.host}:${redis.port}` },
      {
        name: 'kafka',
        up: kafkaUp,
        address: `127.0.0.1:${kafka.port}`,
        ...(kafkaPid !== undefined ? { pid: kafkaPid } : {}),
      },
      {
        name: 's3proxy',
        up: s3Up,
        address: `http://127.0.0.1:${s3.port}`,
        ...(s3Pid !== undefined ? { pid: s3Pid } : {}),
      },
    ];
  }

  /**
   * The endpoints and credentials, as the services and tests read them from their environment; with
   * a principal, also that one's Kafka user (and Redis ACL user): `stack.sh env bootstrap`.
   */
  env(principal?: KafkaPrincipal): StackEnv & Record<string, string> {
    const { postgres, redis, kafka, s3 } = this.settings;
    const credentials = loadS3Credentials(this.context);
    if (!credentials)
      throw new StackError(`no S3 credentials yet in ${s3.credentials}; run '${this.context.self} up' first`);
    const users = stackCredentials(this.settings);
    const security = {
      KAFKA_SSL_CA_FILE: users.kafkaCaFile,
      METERKEEP_STACK_CREDENTIALS: users.dir,
    };
    return {
      ...security,
      ...(principal && principalEnv(principal, security)),
      // Made once beside the stack's data: the distributor signs directives, bootstrap hands the key out.
      ...localDirectiveKeys(this.settings.stateDir),
      KAFKA_BROKERS: `127.0.0.1:${kafka.port}`,
      DATABASE_URL: `postgres://meterkeep@${postgres.host}:${postgres.port}/${postgres.database}`,
      REDIS_URL: `redis://${redis.host}:${redis.port}/${redis.db}`,
      S3_ENDPOINT: `http://127.0.0.1:${s3.port}`,
      S3_REGION: s3.region,
      S3_ACCESS_KEY_ID: credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    };
  }

  /** What `up` prints: one line per endpoint, then where the exports are. */
  endpoints(): string {
    const { postgres, redis, kafka, s3 } = this.settings;
    return `postgres  postgres://meterkeep@${postgres.host}:${postgres.port}/${postgres.database}
redis     redis://${redis.host}:${redis.port}/${redis.db}
kafka     127.0.0.1:${kafka.port}   (SASL_SSL, SCRAM-SHA-512, ACLs; log ${join(kafka.logs, 'server.log')})
s3        http://127.0.0.1:${s3.port}   (path-style, region ${s3.region}, log ${s3.log})
credentials and exports: ${this.context.self} env [admin|<service>]
`;
  }
}

/** One status line per component, as `stack.sh status` prints them. */
export function statusLines(components: ComponentStatus[]): string {
  return components
    .map(({ name, up, address, pid }) => {
      const state = up ? 'up  ' : 'down';
      const detail = pid === undefined ? '' : up ? ` (pid ${pid})` : ` (pid ${pid} running, not answering)`;
      return `${name.padEnd(10)}${state}  ${address}${detail}\n`;
    })
    .join('');
}
