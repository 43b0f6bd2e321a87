import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** What a wrapped key is bound to: moved to another row, it no longer unwraps. */
export interface DataKeyBinding {
  tenantId: string;
  meterId: string;
  keyId: string;
}

/** Data keys are AES-256 keys. */
export const DATA_KEY_BYTES = 32;

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const WRAPPED_BYTES = 1 + IV_BYTES + TAG_BYTES + DATA_KEY_BYTES;
const AAD_PREFIX = 'meterkeep/privacy/data-key/v1';

/** The wrapped key is not one this KEK wrapped for this binding (wrong KEK, moved, or altered). */
export class DataKeyUnwrapError extends Error {
  constructor(options?: ErrorOptions) {
    super('The data key does not unwrap under this KEK for this tenant, meter and key id', options);
    this.name = 'DataKeyUnwrapError';
  }
}

const aad = ({ tenantId, meterId, keyId }: DataKeyBinding) =>
  Buffer.from(`${AAD_PREFIX}\n${JSON.stringify([tenantId, meterId, keyId])}`, 'utf8');

/**
 * The vault's key wrapping: AES-256-GCM under a key derived from PRIVACY_KEK, with tenant, meter and
 * key id as additional data. Stored form: version (1 byte) | IV (12) | tag (16) | ciphertext (32).
 */
export class DataKeyCipher {
  private readonly wrappingKey: Buffer;

  constructor(kek: Buffer) {
    if (kek.length !== 32) throw new RangeError('The privacy key-encryption key must be 32 bytes');
    this.wrappingKey = Buffer.from(
      hkdfSync('sha256', kek, Buffer.alloc(0), 'meterkeep/privacy/data-key-wrapping', 32),
    );
  }

  /** A new random data key. */
  static generate(): Buffer {
    return randomBytes(DATA_KEY_BYTES);
  }

  wrap(key: Buffer, binding: DataKeyBinding): Buffer {
    if (key.length !== DATA_KEY_BYTES) throw new RangeError(`A data key is ${DATA_KEY_BYTES} bytes`);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.wrappingKey, iv);
    cipher.setAAD(aad(binding));
    const ciphertext = Buffer.concat([cipher.update(key), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ciphertext]);
  }

  unwrap(wrapped: Buffer, binding: DataKeyBinding): Buffer {
    if (wrapped.length !== WRAPPED_BYTES || wrapped[0] !== VERSION) throw new DataKeyUnwrapError();
    const iv = wrapped.subarray(1, 1 + IV_BYTES);
    const tag = wrapped.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const ciphertext = wrapped.subarray(1 + IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.wrappingKey, iv);
      decipher.setAAD(aad(binding));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch (error) {
      throw new DataKeyUnwrapError({ cause: error });
    }
  }
}
