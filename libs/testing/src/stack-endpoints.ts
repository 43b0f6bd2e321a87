import { type KafkaSecurity, kafkaSecurity } from '@meterkeep/config';
import type { PlatformService } from '@meterkeep/contracts';
import { STACK_ENV_VARS, type StackEnv, principalEnv, stackEnvFrom } from '@meterkeep/local-stack';

/** Where the real servers of a test run listen; read from the environment the global setup filled. */
export interface StackEndpoints {
  kafkaBrokers: string[];
  /**
   * How a test's own Kafka clients connect (topic taps, set-up, raw reads): the brokers, as the
   * stack's admin principal (TLS, SCRAM) where the stack authenticates. Spread it into
   * createKafkaClient: `createKafkaClient({ clientId, ...stackEndpoints().kafka })`.
   */
  kafka: { brokers: string[] } & KafkaSecurity;
  databaseUrl: string;
  redisUrl: string;
  s3: {
    endpoint: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    forcePathStyle: boolean;
  };
}

/** Where the servers of a test run came from, and how to stop them when the run ends. */
export interface RunningStack {
  env: StackEnv;
  /** The caller's environment, testcontainers, or the local stack. */
  source: 'environment' | 'testcontainers' | 'local';
  stop(): Promise<void>;
}

export function stackEndpoints(env: NodeJS.ProcessEnv = process.env): StackEndpoints {
  const stack = stackEnvFrom(env);
  if (!stack) {
    const missing = STACK_ENV_VARS.filter((name) => !env[name]).join(', ');
    throw new Error(
      `The test stack is not set up (missing ${missing}); run this suite through vitest's global setup`,
    );
  }
  const kafkaBrokers = stack.KAFKA_BROKERS.split(',').map((b) => b.trim());
  return {
    kafkaBrokers,
    kafka: { brokers: kafkaBrokers, ...kafkaSecurity(principalEnv('admin', env)) },
    databaseUrl: stack.DATABASE_URL,
    redisUrl: stack.REDIS_URL,
    s3: {
      endpoint: stack.S3_ENDPOINT,
      region: stack.S3_REGION,
      accessKeyId: stack.S3_ACCESS_KEY_ID,
      secretAccessKey: stack.S3_SECRET_ACCESS_KEY,
      forcePathStyle: stack.S3_FORCE_PATH_STYLE === 'true',
    },
  };
}

/** A name no other test run uses, for topics, schemas, buckets and groups. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * The stack's variables as one service reads them, with that service's own Kafka user (and Redis ACL
 * user): for services started in-process by a test. Processes started with startServiceProcess get
 * theirs by themselves.
 */
export function serviceStackEnv(
  service: PlatformService,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const stack = stackEnvFrom(env);
  if (!stack) throw new Error("The test stack is not set up; run this suite through vitest's global setup");
  return { ...stack, ...principalEnv(service, env) };
}
