import { usageError } from '../factory.errors';

/** The option `--help` every command takes, merged into each command's parseArgs options. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** node:util parseArgs errors (unknown option, missing value…) become usage errors. */
export function parseOrUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      throw usageError((error as Error).message);
    }
    throw error;
  }
}

export function required(value: string | undefined, option: string): string {
  if (value === undefined || value === '') throw usageError(`--${option} is required`);
  return value;
}

export function integer(
  value: string | undefined,
  option: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const digits = value.replace(/_/g, ''); // 100_000 reads better on a command line
  const n = Number(digits);
  if (!/^\d+$/.test(digits) || n < min || n > max) {
    throw usageError(
      `--${option} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`,
    );
  }
  return n;
}

export function oneOf<T extends string>(
  value: string | undefined,
  option: string,
  choices: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw usageError(`--${option} must be one of ${choices.join(', ')}, not ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** Repeated `--param key=value` into a record; a key given twice is refused. */
export function keyValues(values: readonly string[] | undefined, option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of values ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw usageError(`--${option} takes key=value, not ${JSON.stringify(item)}`);
    const key = item.slice(0, eq);
    if (Object.hasOwn(out, key)) throw usageError(`--${option} ${key} is given twice`);
    out[key] = item.slice(eq + 1);
  }
  return out;
}
