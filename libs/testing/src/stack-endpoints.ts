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

export const STACK_ENV_VARS = [
  'KAFKA_BROKERS',
  'DATABASE_URL',
  'REDIS_URL',
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'S3_FORCE_PATH_STYLE',
] as const;

export type StackEnv = Record<(typeof STACK_ENV_VARS)[number], string>;

export function stackEnvFrom(env: NodeJS.ProcessEnv): StackEnv | undefined {
  const missing = STACK_ENV_VARS.filter((name) => !env[name]);
  if (missing.length > 0) return undefined;
  return Object.fromEntries(STACK_ENV_VARS.map((name) => [name, env[name]!])) as StackEnv;
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
