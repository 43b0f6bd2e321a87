import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findWorkspaceRoot } from './workspace-root';

const LOCAL_SECRETS = ['ENROLLMENT_PSK_KEK', 'BOOTSTRAP_KEK', 'PRIVACY_KEK'] as const;

/**
 * The services' own secrets for a local stack: key-encryption keys must stay the same for as long as
 * the database they sealed keys in, so they are made once and kept beside the stack's data
 * (.local-stack/secrets.env, owner-only, git-ignored), never in the repository.
 */
export function localSecrets(): Record<(typeof LOCAL_SECRETS)[number], string> {
  const dir = resolve(findWorkspaceRoot(), '.local-stack');
  const file = join(dir, 'secrets.env');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const lines = LOCAL_SECRETS.map((name) => `${name}=${randomBytes(32).toString('base64')}`);
    try {
      writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process made it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const read = () =>
    Object.fromEntries(
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  // A secret added in a later version joins the file; the ones there stay as they are.
  const missing = LOCAL_SECRETS.filter((name) => !read()[name]);
  if (missing.length > 0)
    appendFileSync(file, missing.map((name) => `${name}=${randomBytes(32).toString('base64')}\n`).join(''));
  return read() as Record<(typeof LOCAL_SECRETS)[number], string>;
}
