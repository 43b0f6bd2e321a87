import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '@meterkeep/config';

/** Keys a meter pins at once: the current one, and the next during a rotation (the contract's bound). */
export const MAX_DIRECTIVE_KEYS = 2;
const MAX_FILE_BYTES = 16 * 1024;
const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;

/**
 * The OTA distributor's directive public keys, as bootstrap hands them to meters
 * (`servers.ota.directivePublicKeysPem`): one or two P-256 SPKI PEMs, concatenated, the current first.
 * Anything else in the text (a private key, another curve, a third key, stray text) is refused: a meter
 * would pin what it is given. Returns them re-encoded (canonical SPKI PEM). Throws with the reason.
 */
export function parseDirectivePublicKeys(text: string): string[] {
  const blocks = [...text.matchAll(PEM_BLOCK)];
  const rest = text.replace(PEM_BLOCK, '').trim();
  if (blocks.length === 0) throw new Error('holds no PEM public key');
  if (rest.length > 0) throw new Error('holds text beside the PEM public keys');
  if (blocks.length > MAX_DIRECTIVE_KEYS)
    throw new Error(`holds ${blocks.length} keys; at most ${MAX_DIRECTIVE_KEYS} (the current and the next)`);
  return blocks.map((block, index) => {
    if (block[1] !== 'PUBLIC KEY') throw new Error(`block ${index + 1} is a ${block[1]}, not a PUBLIC KEY`);
    let key;
    try {
      key = createPublicKey({ key: block[0], format: 'pem', type: 'spki' });
    } catch {
      throw new Error(`block ${index + 1} is not a readable public key`);
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      throw new Error(`key ${index + 1} is not an ECDSA P-256 key`);
    return key.export({ type: 'spki', format: 'pem' }).toString();
  });
}

/** Reads and checks the file named by OTA_DIRECTIVE_PUBLIC_KEYS_FILE (bounded: a key file is small). */
export function readDirectivePublicKeys(path: string): string[] {
  const bytes = readFileSync(path);
  if (bytes.length > MAX_FILE_BYTES) throw new Error(`is larger than ${MAX_FILE_BYTES} bytes`);
  return parseDirectivePublicKeys(bytes.toString('utf8'));
}

/**
 * The keys OTA_DIRECTIVE_PUBLIC_KEYS_FILE names, read and checked once at start-up; a missing or
 * unfit file stops the service with a ConfigError naming the variable. Undefined when it is unset.
 */
export function directivePublicKeysOf(config: {
  OTA_DIRECTIVE_PUBLIC_KEYS_FILE?: string | undefined;
}): string[] | undefined {
  const path = config.OTA_DIRECTIVE_PUBLIC_KEYS_FILE;
  if (path === undefined) return undefined;
  try {
    return readDirectivePublicKeys(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code ? `cannot be read (${code})` : (error as Error).message;
    throw new ConfigError([`OTA_DIRECTIVE_PUBLIC_KEYS_FILE: ${path} ${reason}`]);
  }
}
