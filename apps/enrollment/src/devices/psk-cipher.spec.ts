import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PskCipher } from './psk-cipher';

describe('PskCipher', () => {
  const cipher = new PskCipher(randomBytes(32));
  const key = randomBytes(32);

  it('seals a key so that only the same KEK and endpoint open it', () => {
    const sealed = cipher.seal(key, 'MTR-1');
    expect(sealed.ciphertext.equals(key)).toBe(false);
    expect(sealed.ciphertext.includes(key.subarray(0, 8))).toBe(false);
    expect(cipher.open(sealed, 'MTR-1').equals(key)).toBe(true);
    expect(() => cipher.open(sealed, 'MTR-2')).toThrow();
    expect(() => new PskCipher(randomBytes(32)).open(sealed, 'MTR-1')).toThrow();
  });

  it('uses a fresh IV per seal, and a stable digest that tells keys apart', () => {
    const a = cipher.seal(key, 'MTR-1');
    const b = cipher.seal(key, 'MTR-1');
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.digest.equals(b.digest)).toBe(true);
    expect(cipher.seal(randomBytes(32), 'MTR-1').digest.equals(a.digest)).toBe(false);
  });

  it('refuses a KEK of the wrong size', () => {
    expect(() => new PskCipher(randomBytes(16))).toThrow(/32 bytes/);
  });
});
