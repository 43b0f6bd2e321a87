import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** A KEK epoch's key, like a data key, is AES-256. */
export const EPOCH_KEK_BYTES = 32;

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The stored form's exact length: anything else read back from the ring is refused unparsed. */
export const WRAPPED_EPOCH_KEK_BYTES = 1 + IV_BYTES + TAG_BYTES + EPOCH_KEK_BYTES;
const AAD_PREFIX = 'meterkeep/privacy/kek-epoch/v1';

/** The stored epoch KEK is not one this master key wrapped under this ring reference. */
export class EpochKekUnwrapError extends Error {
  constructor(options?: ErrorOptions) {
    super('The epoch KEK does not unwrap under PRIVACY_KEK for this ring reference', options);
    this.name = 'EpochKekUnwrapError';
  }
}

/**
 * Wraps epoch KEKs under the master PRIVACY_KEK for the ring (AES-256-GCM, the ring reference as
 * additional data, so one epoch's object cannot stand in for another's). The wrapping key is derived
 * apart from the one epoch 0 wraps data keys with: the master key unlocks the ring, and data keys only
 * through an epoch.
 */
export class EpochKekCipher {
  private readonly wrappingKey: Buffer;

  constructor(masterKek: Buffer) {
    if (masterKek.length !== 32) throw new RangeError('The privacy key-encryption key must be 32 bytes');
    this.wrappingKey = Buffer.from(
      hkdfSync('sha256', masterKek, Buffer.alloc(0), 'meterkeep/privacy/kek-ring-wrapping', 32),
    );
  }

  static generate(): Buffer {
    return randomBytes(EPOCH_KEK_BYTES);
  }

  wrap(epochKek: Buffer, ringRef: string): Buffer {
    if (epochKek.length !== EPOCH_KEK_BYTES) throw new RangeError(`An epoch KEK is ${EPOCH_KEK_BYTES} bytes`);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.wrappingKey, iv);
    cipher.setAAD(aad(ringRef));
    const ciphertext = Buffer.concat([cipher.update(epochKek), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ciphertext]);
  }

  unwrap(wrapped: Buffer, ringRef: string): Buffer {
    if (wrapped.length !== WRAPPED_EPOCH_KEK_BYTES || wrapped[0] !== VERSION) throw new EpochKekUnwrapError();
    const iv = wrapped.subarray(1, 1 + IV_BYTES);
    const tag = wrapped.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.wrappingKey, iv);
      decipher.setAAD(aad(ringRef));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(wrapped.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch (error) {
      throw new EpochKekUnwrapError({ cause: error });
    }
  }
}

const aad = (ringRef: string) => Buffer.from(`${AAD_PREFIX}\n${ringRef}`, 'utf8');
