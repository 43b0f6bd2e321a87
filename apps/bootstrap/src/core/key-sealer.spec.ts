import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeySealer } from './key-sealer';

describe('KeySealer', () => {
  const sealer = new KeySealer(randomBytes(32));
  const key = randomBytes(138);

  it('opens what it sealed for the same purpose, and stores nothing in the clear', () => {
    const sealed = sealer.seal(key, 'tenant-ca:north:issuing');
    expect(sealed.ciphertext.equals(key)).toBe(false);
    expect(sealed.ciphertext.includes(key.subarray(0, 16))).toBe(false);
    expect(sealer.open(sealed, 'tenant-ca:north:issuing').equals(key)).toBe(true);
  });

  it('refuses a sealed key moved to another purpose, or opened under another KEK', () => {
    const sealed = sealer.seal(key, 'tenant-ca:north:issuing');
    expect(() => sealer.open(sealed, 'tenant-ca:south:issuing')).toThrow();
    expect(() => new KeySealer(randomBytes(32)).open(sealed, 'tenant-ca:north:issuing')).toThrow();
    expect(() => new KeySealer(randomBytes(16))).toThrow(/32 bytes/);
  });
});
