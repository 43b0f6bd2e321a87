import { KeyWrap, WRAPPED_FORM_BYTES, WRAPPED_KEY_BYTES } from '../core/key-wrap';

/** A KEK epoch's key, like a data key, is AES-256. */
export const EPOCH_KEK_BYTES = WRAPPED_KEY_BYTES;
/** The stored form's exact length: anything else read back from the ring is refused unparsed. */
export const WRAPPED_EPOCH_KEK_BYTES = WRAPPED_FORM_BYTES;
const AAD_PREFIX = 'meterkeep/privacy/kek-epoch/v1';

/** The stored epoch KEK is not one this master key wrapped under this ring reference. */
export class EpochKekUnwrapError extends Error {
  constructor(options?: ErrorOptions) {
    super('The epoch KEK does not unwrap under PRIVACY_KEK for this ring reference', options);
    this.name = 'EpochKekUnwrapError';
  }
}

/**
 * Wraps epoch KEKs under the master PRIVACY_KEK for the ring (the ring reference as additional data,
 * so one epoch's object cannot stand in for another's). The wrapping key is derived apart from the one
 * epoch 0 wraps data keys with: the master key unlocks the ring, and data keys only through an epoch.
 */
export class EpochKekCipher {
  private readonly keyWrap: KeyWrap;

  constructor(masterKek: Buffer) {
    this.keyWrap = new KeyWrap(
      masterKek,
      'meterkeep/privacy/kek-ring-wrapping',
      (cause) => new EpochKekUnwrapError({ cause }),
    );
  }

  static generate(): Buffer {
    return KeyWrap.generate();
  }

  wrap(epochKek: Buffer, ringRef: string): Buffer {
    return this.keyWrap.wrap(epochKek, aad(ringRef));
  }

  unwrap(wrapped: Buffer, ringRef: string): Buffer {
    return this.keyWrap.unwrap(wrapped, aad(ringRef));
  }
}

const aad = (ringRef: string) => Buffer.from(`${AAD_PREFIX}\n${ringRef}`, 'utf8');
