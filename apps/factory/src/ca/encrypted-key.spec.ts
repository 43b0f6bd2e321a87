import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, spkiOf } from '@meterkeep/pki';
import { afterAll, describe, expect, it } from 'vitest';
import { FactoryError } from '../factory.errors';
import { decryptPrivateKey, encryptPrivateKey } from './encrypted-key';
import { passphraseFromEnv } from './ca-store';

const passphrase = 'correct horse battery staple';

describe('CA keys at rest', () => {
  const { privateKey } = generateKeyPair();
  const pem = encryptPrivateKey(privateKey, passphrase);
  const dir = mkdtempSync(join(tmpdir(), 'meterkeep-factory-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are PKCS#8 encrypted with scrypt, and decrypt to the same key', () => {
    expect(pem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    expect(spkiOf(decryptPrivateKey(pem, passphrase, 'k.pem'))).toEqual(spkiOf(privateKey));
  });

  it('name a wrong passphrase as such', () => {
    let error: unknown;
    try {
      decryptPrivateKey(pem, 'not the passphrase at all', 'dir/intermediate.key.pem');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FactoryError);
    expect((error as FactoryError).code).toBe('WRONG_PASSPHRASE');
    expect((error as FactoryError).message).toBe('wrong passphrase for dir/intermediate.key.pem');
  });

  it('open with openssl, which sees scrypt (an outside check)', () => {
    const file = join(dir, 'key.pem');
    writeFileSync(file, pem);
    const env = { ...process.env, PASS: passphrase };
    const check = spawnSync('openssl', ['pkey', '-in', file, '-passin', 'env:PASS', '-noout', '-check'], {
      env,
      encoding: 'utf8',
    });
    expect(`${check.stdout}${check.stderr}`).toContain('Key is valid');
    const parsed = spawnSync('openssl', ['asn1parse', '-in', file], { encoding: 'utf8' });
    expect(parsed.stdout).toContain(':scrypt');
    expect(parsed.stdout).toContain(':aes-256-cbc');
  });

  it('need a passphrase of at least 12 characters from the environment', () => {
    expect(() => passphraseFromEnv({})).toThrow(/METERKEEP_CA_PASSPHRASE is not set/);
    expect(() => passphraseFromEnv({ METERKEEP_CA_PASSPHRASE: 'eleven char' })).toThrow(/at least 12/);
    expect(passphraseFromEnv({ METERKEEP_CA_PASSPHRASE: passphrase })).toBe(passphrase);
  });
});
