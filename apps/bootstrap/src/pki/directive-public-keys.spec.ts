import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@meterkeep/config';
import { directivePublicKeysOf } from './directive-public-keys';

const problems = (path: string) => {
  try {
    directivePublicKeysOf({ OTA_DIRECTIVE_PUBLIC_KEYS_FILE: path });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
};

describe('OTA_DIRECTIVE_PUBLIC_KEYS_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bootstrap-directive-keys-'));
  let n = 0;
  const file = (text: string) => {
    const path = join(dir, `keys-${n++}.pem`);
    writeFileSync(path, text);
    return path;
  };
  const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve });
  const pub = (key: ReturnType<typeof ec>) =>
    key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const [current, next] = [pub(ec('prime256v1')), pub(ec('prime256v1'))];

  it('reads one or two P-256 public keys, the current first; none when unset', () => {
    expect(directivePublicKeysOf({ OTA_DIRECTIVE_PUBLIC_KEYS_FILE: file(current) })).toEqual([current]);
    expect(directivePublicKeysOf({ OTA_DIRECTIVE_PUBLIC_KEYS_FILE: file(current + next) })).toEqual([
      current,
      next,
    ]);
    expect(directivePublicKeysOf({})).toBeUndefined();
  });

  it.each([
    ['a missing file', () => join(dir, 'absent.pem'), /cannot be read \(ENOENT\)/],
    ['an empty file', () => file(''), /no PEM public key/],
    ['three keys', () => file(current + next + current), /holds 3 keys; at most 2/],
    ['a P-384 key', () => file(pub(ec('secp384r1'))), /not an ECDSA P-256 key/],
    [
      'a private key',
      () => file(ec('prime256v1').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
      /PRIVATE KEY, not a PUBLIC KEY/,
    ],
    ['stray text', () => file(`${current}\nhello`), /text beside/],
    [
      'a broken key',
      () => file('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'),
      /not a readable/,
    ],
  ] as const)('refuses to start with %s, naming the variable', (_, path, reason) => {
    const [problem, ...more] = problems(path());
    expect(more).toEqual([]);
    expect(problem).toMatch(/^OTA_DIRECTIVE_PUBLIC_KEYS_FILE: /);
    expect(problem).toMatch(reason);
  });
});
