import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DataKeyCipher, DataKeyUnwrapError } from './data-key-cipher';

const binding = { tenantId: 'utility-north', meterId: 'MTR-000001', keyId: 'dk-1' };

describe('DataKeyCipher', () => {
  const kek = randomBytes(32);
  const cipher = new DataKeyCipher(kek);

  it('wraps a key so that it unwraps to the same key, and never holds the plain key', () => {
    const key = DataKeyCipher.generate();
    const wrapped = cipher.wrap(key, binding);
    expect(wrapped).toHaveLength(61);
    expect(wrapped.includes(key)).toBe(false);
    expect(wrapped.toString('hex')).not.toContain(key.toString('hex'));
    expect(cipher.unwrap(wrapped, binding).equals(key)).toBe(true);
  });

  it('wraps the same key differently every time (fresh IV)', () => {
    const key = DataKeyCipher.generate();
    expect(cipher.wrap(key, binding).equals(cipher.wrap(key, binding))).toBe(false);
  });

  it('refuses to unwrap under another KEK', () => {
    const wrapped = cipher.wrap(DataKeyCipher.generate(), binding);
    expect(() => new DataKeyCipher(randomBytes(32)).unwrap(wrapped, binding)).toThrow(DataKeyUnwrapError);
  });

  it.each([
    ['another tenant', { ...binding, tenantId: 'utility-south' }],
    ['another meter', { ...binding, meterId: 'MTR-000002' }],
    ['another key id', { ...binding, keyId: 'dk-2' }],
  ])('refuses a wrapped key moved to %s', (_, moved) => {
    const wrapped = cipher.wrap(DataKeyCipher.generate(), binding);
    expect(() => cipher.unwrap(wrapped, moved)).toThrow(DataKeyUnwrapError);
  });

  it('refuses a binding that only differs in how its parts are split', () => {
    const wrapped = cipher.wrap(DataKeyCipher.generate(), { tenantId: 'a', meterId: 'b-c', keyId: 'k' });
    expect(() => cipher.unwrap(wrapped, { tenantId: 'a-b', meterId: 'c', keyId: 'k' })).toThrow(
      DataKeyUnwrapError,
    );
  });

  it('refuses an altered or truncated wrapped key', () => {
    const wrapped = cipher.wrap(DataKeyCipher.generate(), binding);
    for (const index of [0, 5, 20, 40, 60]) {
      const altered = Buffer.from(wrapped);
      altered[index]! ^= 0x01;
      expect(() => cipher.unwrap(altered, binding)).toThrow(DataKeyUnwrapError);
    }
    expect(() => cipher.unwrap(wrapped.subarray(0, 60), binding)).toThrow(DataKeyUnwrapError);
  });

  it('needs a 32-byte KEK and 32-byte data keys', () => {
    expect(() => new DataKeyCipher(randomBytes(16))).toThrow(RangeError);
    expect(() => cipher.wrap(randomBytes(16), binding)).toThrow(RangeError);
  });
});
