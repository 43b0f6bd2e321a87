import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDirectiveKey } from './directive-key';

describe('loadDirectiveKey (OTA_DIRECTIVE_KEY_FILE, checked at start-up)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'directive-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('loads a PKCS#8 PEM P-256 private key', () => {
    const key = loadDirectiveKey(
      file('ok.pem', p256.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
    );
    expect(key.type).toBe('private');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('refuses what is not one, naming the variable and never the content', () => {
    const sec1 = p256.privateKey.export({ type: 'sec1', format: 'pem' }) as string;
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    const spki = p256.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const garbled = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n';
    for (const [name, content] of [
      ['sec1.pem', sec1],
      ['p384.pem', p384],
      ['rsa.pem', rsa],
      ['public.pem', spki],
      ['garbled.pem', garbled],
    ] as const) {
      let message = '';
      try {
        loadDirectiveKey(file(name, content));
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, name).toMatch(/^OTA_DIRECTIVE_KEY_FILE: /);
      expect(message).not.toContain('AAAA');
      expect(message).not.toContain(content.split('\n')[1]!);
    }
    expect(() => loadDirectiveKey(join(dir, 'missing.pem'))).toThrow(/^OTA_DIRECTIVE_KEY_FILE: .*ENOENT/);
  });
});
