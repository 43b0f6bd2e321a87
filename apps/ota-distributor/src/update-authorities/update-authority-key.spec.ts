import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseUpdateAuthorityKey } from './update-authority-key';

const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const publicPem = p256.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const refusalOf = (text: string) => {
  const parsed = parseUpdateAuthorityKey(text);
  return parsed.ok ? 'accepted' : parsed.refusal;
};

describe('parseUpdateAuthorityKey', () => {
  it('accepts a P-256 SPKI public key: key id = SHA-256 of its DER, PEM re-encoded', () => {
    const parsed = parseUpdateAuthorityKey(`\n${publicPem.replaceAll('\n', '\r\n')}\n`);
    const der = p256.publicKey.export({ type: 'spki', format: 'der' });
    expect(parsed).toEqual({
      ok: true,
      keyId: createHash('sha256').update(der).digest('hex'),
      publicKeyPem: publicPem,
    });
  });

  it('refuses every private key, whatever its form or label (threat: private key sent to the cluster)', () => {
    const pkcs8 = p256.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const sec1 = p256.privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    const encrypted = p256.privateKey
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' })
      .toString();
    // A private key's DER under a public label, and each of them beside the public key.
    const relabelled = pkcs8.replace(/PRIVATE KEY/g, 'PUBLIC KEY');
    const sec1Relabelled = sec1.replace(/EC PRIVATE KEY/g, 'PUBLIC KEY');
    for (const text of [pkcs8, sec1, encrypted, relabelled, sec1Relabelled, `${publicPem}${pkcs8}`])
      expect(refusalOf(text)).toBe('PRIVATE_KEY_REFUSED');
  });

  it('refuses keys of other types and curves', () => {
    const others = [
      generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey,
      generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey,
      generateKeyPairSync('ed25519').publicKey,
      generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey,
    ];
    for (const key of others)
      expect(refusalOf(key.export({ type: 'spki', format: 'pem' }).toString())).toBe('KEY_TYPE_UNSUPPORTED');
  });

  it('refuses anything but exactly one PEM public key', () => {
    const body = publicPem.split('\n').slice(1, -2).join('\n');
    const cases = [
      '',
      'not a key',
      body,
      `${publicPem}${publicPem}`,
      `comment\n${publicPem}`,
      publicPem.replace('PUBLIC KEY', 'CERTIFICATE').replace('PUBLIC KEY', 'CERTIFICATE'),
      // Not base64: the first line's opening characters (always there, unlike a match on random ones).
      publicPem.replace('-----\nMFkw', '-----\n!!!!'),
      '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n',
    ];
    for (const text of cases) expect(refusalOf(text), text).toBe('KEY_UNREADABLE');
  });
});
