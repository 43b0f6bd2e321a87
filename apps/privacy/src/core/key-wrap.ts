import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** Every key privacy wraps (data keys, epoch KEKs) is an AES-256 key. */
export const WRAPPED_KEY_BYTES = 32;

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The stored form's exact length: anything else read back is refused unparsed. */
export const WRAPPED_FORM_BYTES = 1 + IV_BYTES + TAG_BYTES + WRAPPED_KEY_BYTES;

/**
 * AES-256-GCM key wrapping under a key derived (HKDF-SHA256) from a KEK for one purpose, so one KEK
 * never wraps two kinds of key with the same key. The caller's binding is the additional data: moved to
 * another row or object, a wrapped key no longer unwraps. Stored form: version (1 byte) | IV (12) |
 * tag (16) | ciphertext (32).
 */
export class KeyWrap {
  private readonly wrappingKey: Buffer;

  constructor(
    kek: Buffer,
    purpose: string,
    private readonly refusal: (cause?: unknown) => Error,
  ) {
    if (kek.length !== 32) throw new RangeError('The privacy key-encryption key must be 32 bytes');
    this.wrappingKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), purpose, 32));
  }

  static generate(): Buffer {
    return randomBytes(WRAPPED_KEY_BYTES);
  }

  wrap(key: Buffer, binding: Buffer): Buffer {
    if (key.length !== WRAPPED_KEY_BYTES) throw new RangeError(`A wrapped key is ${WRAPPED_KEY_BYTES} bytes`);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.wrappingKey, iv);
    cipher.setAAD(binding);
    const ciphertext = Buffer.concat([cipher.update(key), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ciphertext]);
  }

  unwrap(wrapped: Buffer, binding: Buffer): Buffer {
    if (wrapped.length !== WRAPPED_FORM_BYTES || wrapped[0] !== VERSION) throw this.refusal();
    const iv = wrapped.subarray(1, 1 + IV_BYTES);
    const tag = wrapped.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.wrappingKey, iv);
      decipher.setAAD(binding);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(wrapped.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch (error) {
      throw this.refusal(error);
    }
  }
}
