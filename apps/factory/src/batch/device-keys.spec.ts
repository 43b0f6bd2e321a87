import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DeviceKeyFactory, PKCS8_BYTES } from './device-keys';

describe('DeviceKeyFactory', () => {
  const keys = new DeviceKeyFactory();

  it('makes PKCS#8 and SPKI that OpenSSL imports as one P-256 key pair', () => {
    for (let i = 0; i < 50; i++) {
      const { pkcs8, spki } = keys.next();
      expect(pkcs8.length).toBe(PKCS8_BYTES);
      const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
      expect(privateKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      // Byte for byte what OpenSSL itself writes for this key.
      expect(privateKey.export({ type: 'pkcs8', format: 'der' })).toEqual(pkcs8);
      const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
      expect(createPublicKey(privateKey).export({ type: 'spki', format: 'der' })).toEqual(spki);
      const signature = sign('sha256', Buffer.from('reading'), privateKey);
      expect(verify('sha256', Buffer.from('reading'), publicKey, signature)).toBe(true);
    }
  });

  it('never repeats a key, and wipes the random bytes it used', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) seen.add(keys.next().pkcs8.toString('hex'));
    expect(seen.size).toBe(2_000);
    const target = Buffer.alloc(32);
    keys.random(target);
    expect(target.equals(Buffer.alloc(32))).toBe(false);
  });
});
