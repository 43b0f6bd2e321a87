import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EpochKekCipher, EpochKekUnwrapError, WRAPPED_EPOCH_KEK_BYTES } from './epoch-kek-cipher';

describe('EpochKekCipher', () => {
  const master = randomBytes(32);
  const cipher = new EpochKekCipher(master);

  it('wraps an epoch KEK so that it unwraps to the same key, and never holds the plain key', () => {
    const kek = EpochKekCipher.generate();
    const wrapped = cipher.wrap(kek, '1-abc');
    expect(wrapped).toHaveLength(WRAPPED_EPOCH_KEK_BYTES);
    expect(wrapped.toString('hex')).not.toContain(kek.toString('hex'));
    expect(cipher.unwrap(wrapped, '1-abc').equals(kek)).toBe(true);
  });

  it('refuses another master key, another epoch reference, and altered or truncated bytes', () => {
    const wrapped = cipher.wrap(EpochKekCipher.generate(), '1-abc');
    expect(() => new EpochKekCipher(randomBytes(32)).unwrap(wrapped, '1-abc')).toThrow(EpochKekUnwrapError);
    expect(() => cipher.unwrap(wrapped, '2-abc')).toThrow(EpochKekUnwrapError);
    for (const index of [0, 3, 20, 45, WRAPPED_EPOCH_KEK_BYTES - 1]) {
      const altered = Buffer.from(wrapped);
      altered[index]! ^= 0x01;
      expect(() => cipher.unwrap(altered, '1-abc')).toThrow(EpochKekUnwrapError);
    }
    expect(() => cipher.unwrap(wrapped.subarray(1), '1-abc')).toThrow(EpochKekUnwrapError);
    expect(() => cipher.unwrap(Buffer.concat([wrapped, Buffer.alloc(1)]), '1-abc')).toThrow(
      EpochKekUnwrapError,
    );
  });

  it('needs 32-byte keys', () => {
    expect(() => new EpochKekCipher(randomBytes(16))).toThrow(RangeError);
    expect(() => cipher.wrap(randomBytes(31), 'ref')).toThrow(RangeError);
  });
});
