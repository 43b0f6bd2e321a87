import { type KeyObject, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { assertP256 } from '@meterkeep/pki';
import { SignerError, usageError } from './signer.errors';

/** What a command may touch of the outside world; the CLI passes the process's, tests their own. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => Date;
}

export interface CliCommand {
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  /** Resolves to the exit code; throws SignerError for refusals (USAGE exits 2, the rest 1). */
  run(argv: string[], io: CliIo): Promise<number>;
}

/** The passphrase of encrypted PKCS#8 keys comes from the environment, never the command line. */
export const PASSPHRASE_ENV = 'METERKEEP_SIGNER_PASSPHRASE';

export interface ParsedOptions {
  readonly help: boolean;
  readonly values: Readonly<Record<string, string | undefined>>;
}

/** String options by name (node:util parseArgs, strict), its errors as usage errors. */
export function parseOptions(argv: string[], names: readonly string[]): ParsedOptions {
  const options: Record<string, { type: 'string' } | { type: 'boolean'; short: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const name of names) options[name] = { type: 'string' };
  try {
    const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
    const strings: Record<string, string | undefined> = {};
    for (const name of names) {
      const value = values[name];
      strings[name] = typeof value === 'string' ? value : undefined;
    }
    return { help: values.help === true, values: strings };
  } catch (error) {
    throw usageError(error instanceof Error ? error.message : String(error));
  }
}

export function required(value: string | undefined, option: string): string {
  if (value === undefined || value === '') throw usageError(`--${option} is required`);
  return value;
}

/** Reads a file no larger than `max` bytes (checked before reading it). */
export async function readBounded(path: string, max: number, what: string): Promise<Buffer> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new SignerError('INPUT_INVALID', `${what} ${path} cannot be read`);
  }
  if (size > max) throw new SignerError('INPUT_INVALID', `${what} ${path} is larger than ${max} bytes`);
  return readFile(path);
}

const MAX_PEM_BYTES = 16 * 1024;

/**
 * A P-256 private key from PEM (PKCS#8 or SEC1; encrypted PKCS#8 with the passphrase from the
 * environment). Errors name the file, never the key's content.
 */
export async function readPrivateKey(path: string, io: CliIo): Promise<KeyObject> {
  const pem = (await readBounded(path, MAX_PEM_BYTES, 'key')).toString('utf8');
  const encrypted = pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----');
  const passphrase = io.env[PASSPHRASE_ENV];
  if (encrypted && !passphrase) {
    throw new SignerError('PASSPHRASE_MISSING', `${path} is encrypted: set ${PASSPHRASE_ENV}`);
  }
  try {
    const key = createPrivateKey(encrypted ? { key: pem, passphrase: passphrase! } : pem);
    return assertP256(key, 'private key');
  } catch {
    throw new SignerError('KEY_INVALID', `${path} is no P-256 private key (or the passphrase is wrong)`);
  }
}

export async function readPublicKey(path: string): Promise<KeyObject> {
  const pem = (await readBounded(path, MAX_PEM_BYTES, 'public key')).toString('utf8');
  try {
    const key = createPublicKey(pem);
    if (key.type !== 'public') throw new Error('not a public key');
    return assertP256(key, 'public key');
  } catch {
    throw new SignerError('KEY_INVALID', `${path} is no P-256 public key (PEM SubjectPublicKeyInfo)`);
  }
}

export async function readPem(path: string, what: string): Promise<string> {
  return (await readBounded(path, MAX_PEM_BYTES, what)).toString('utf8');
}
