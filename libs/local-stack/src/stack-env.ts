/** The variables through which the services and the tests find the stack's servers. */
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

/**
 * Set by a stack whose Kafka and Redis authenticate (the local stack): the CA the brokers' certificate
 * chains to, and the dir naming each principal's user and password file (see principalEnv).
 */
export const STACK_SECURITY_VARS = ['KAFKA_SSL_CA_FILE', 'METERKEEP_STACK_CREDENTIALS'] as const;

/**
 * Key material the local stack makes once beside its data (see localDirectiveKeys): the OTA
 * distributor's directive key pair, the private key for the distributor, the public one for bootstrap.
 */
export const STACK_GENERATED_VARS = ['OTA_DIRECTIVE_KEY_FILE', 'OTA_DIRECTIVE_PUBLIC_KEYS_FILE'] as const;

export type StackEnv = Record<(typeof STACK_ENV_VARS)[number], string> &
  Partial<Record<(typeof STACK_SECURITY_VARS)[number] | (typeof STACK_GENERATED_VARS)[number], string>>;

/** The stack's variables from `env`, or undefined unless every required one is set. */
export function stackEnvFrom(env: NodeJS.ProcessEnv): StackEnv | undefined {
  const missing = STACK_ENV_VARS.filter((name) => !env[name]);
  if (missing.length > 0) return undefined;
  return Object.fromEntries(
    [...STACK_ENV_VARS, ...STACK_SECURITY_VARS, ...STACK_GENERATED_VARS]
      .filter((name) => env[name])
      .map((name) => [name, env[name]!]),
  ) as StackEnv;
}

/** Reads `export NAME=value` lines (what `stack.sh env` prints). */
export function parseEnvExports(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return env;
}

/** `export NAME=value` lines for a shell's eval. */
export function formatEnvExports(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => `export ${name}=${value}\n`)
    .join('');
}
