import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findWorkspaceRoot } from './workspace-root';

/** The stack's state dir by default (git-ignored): `<repo>/.local-stack`. */
const defaultStateDir = () => resolve(findWorkspaceRoot(), '.local-stack');

/**
 * The OTA distributor's directive signing key for a local stack, made once (P-256): the private key
 * (PKCS#8 PEM, owner-only) for the distributor, the public key (SPKI PEM) for bootstrap to hand to
 * meters. Kept as long as the stack's data: meters pin the public key at bootstrap. Returns the
 * variables that name the two files.
 */
export function localDirectiveKeys(stateDir = defaultStateDir()): {
  OTA_DIRECTIVE_KEY_FILE: string;
  OTA_DIRECTIVE_PUBLIC_KEYS_FILE: string;
} {
  const dir = join(stateDir, 'directive-keys');
  const files = {
    OTA_DIRECTIVE_KEY_FILE: join(dir, 'directive.key.pem'),
    OTA_DIRECTIVE_PUBLIC_KEYS_FILE: join(dir, 'directive.pub.pem'),
  };
  if (existsSync(files.OTA_DIRECTIVE_KEY_FILE) && existsSync(files.OTA_DIRECTIVE_PUBLIC_KEYS_FILE))
    return files;

  // Both files appear at once (a directory renamed into place), so no reader sees half a pair.
  mkdirSync(resolve(dir, '..'), { recursive: true, mode: 0o700 });
  const staging = `${dir}.${process.pid}-${Date.now()}`;
  mkdirSync(staging, { mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(join(staging, 'directive.key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  writeFileSync(join(staging, 'directive.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }), {
    mode: 0o644,
  });
  try {
    renameSync(staging, dir);
  } catch (error) {
    // Another process made them first (or an empty directory is in the way): keep theirs.
    rmSync(staging, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    if (!existsSync(files.OTA_DIRECTIVE_KEY_FILE))
      throw new Error(`${dir} exists without directive.key.pem: remove it to make a new pair`, {
        cause: error,
      });
  }
  return files;
}
