import type { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads and validates the environment once, at start-up. The schema's keys are the variable names, so
 * every problem names the variable to fix.
 */
export function loadConfig<T>(schema: z.ZodType<T>, env: NodeJS.ProcessEnv = process.env): T {
  // Empty strings count as unset: `FOO=` in a manifest should not satisfy a required variable.
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const variable = issue.path.length > 0 ? issue.path.join('.') : '(environment)';
      const missing = issue.code === 'invalid_type' && cleaned[String(issue.path[0])] === undefined;
      return missing ? `${variable} is required` : `${variable}: ${issue.message}`;
    }),
  );
}

const SECRET_NAME = /(SECRET|PASSWORD|PASSPHRASE|TOKEN|PRIVATE|_KEY$|_KEK|_PSK)/;

/** The variables a config was read from, with secrets masked: safe to log at start-up. */
export function describeEnvironment(names: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  return Object.fromEntries(
    names
      .filter((name) => env[name] !== undefined)
      .map((name) => [name, SECRET_NAME.test(name) ? '********' : maskUrlCredentials(env[name]!)]),
  );
}

/** Hides a password inside a URL such as postgres://user:pass@host/db. */
export function maskUrlCredentials(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]+):[^@]*@/i, '$1:********@');
}
