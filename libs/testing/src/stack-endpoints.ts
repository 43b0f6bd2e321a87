import { STACK_ENV_VARS, type StackEnv, stackEnvFrom } from '@meterkeep/local-stack';

/** Where the real servers of a test run listen; read from the environment the global setup filled. */
export interface StackEndpoints {
  kafkaBrokers: string[];
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
  return {
    kafkaBrokers: stack.KAFKA_BROKERS.split(',').map((b) => b.trim()),
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
