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

/** Variables whose whole value is a secret, by name. Their values are never shown. */
const SECRET_NAME = /(SECRET|PASSWORD|PASSPHRASE|TOKEN|PRIVATE|CREDENTIAL|_KEY$|_KEK|_PSK)/;
const MASK = '********';

/** `<SECRET>_FILE` names a file's path, not its content: shown, as the path helps and hides nothing. */
const secretName = (name: string) => SECRET_NAME.test(name) && !name.endsWith('_FILE');

/** Query parameters that carry a credential: passwords, tokens, keys, signatures (presigned URLs). */
const SECRET_PARAM = /(pass|pwd|secret|token|key|sig|credential|auth)/i;

/** The variables a config was read from, with secrets masked: safe to log at start-up. */
export function describeEnvironment(names: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  return Object.fromEntries(
    names
      .filter((name) => env[name] !== undefined)
      .map((name) => [name, secretName(name) ? MASK : maskUrlCredentials(env[name]!)]),
  );
}

/**
 * Hides the credentials of every URL inside a value: the password of its user information
 * (postgres://user:pass@host/db, redis://:pass@host) and query parameters that name a password,
 * token, key or signature (?password=…, X-Amz-Signature=…). Errs on the side of hiding.
 */
export function maskUrlCredentials(value: string): string {
  return value.replace(/([a-z][a-z0-9+.-]*:\/\/)(\S*)/gi, (_url, scheme: string, rest: string) => {
    let masked = rest;
    // The last '@' ends the user information: a password may itself hold '@', '/' or ':'.
    const at = masked.lastIndexOf('@');
    if (at >= 0) {
      const userinfo = masked.slice(0, at);
      const colon = userinfo.indexOf(':');
      if (colon >= 0) masked = `${userinfo.slice(0, colon)}:${MASK}${masked.slice(at)}`;
    }
    masked = masked.replace(/([?&;])([^=&;#\s]+)=([^&;#\s]*)/g, (param, sep: string, name: string) =>
      SECRET_PARAM.test(decodeURIComponentSafe(name)) ? `${sep}${name}=${MASK}` : param,
    );
    return `${scheme}${masked}`;
  });
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
