import { KeyWrap, WRAPPED_KEY_BYTES } from '../core/key-wrap';

/** What a wrapped key is bound to: moved to another row, it no longer unwraps. */
export interface DataKeyBinding {
  tenantId: string;
  meterId: string;
  keyId: string;
}

/** Data keys are AES-256 keys. */
export const DATA_KEY_BYTES = WRAPPED_KEY_BYTES;

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

/** The vault's key wrapping: under a key derived from a KEK, with tenant, meter and key id bound in. */
export class DataKeyCipher {
  private readonly keyWrap: KeyWrap;

  constructor(kek: Buffer) {
    this.keyWrap = new KeyWrap(
      kek,
      'meterkeep/privacy/data-key-wrapping',
      (cause) => new DataKeyUnwrapError({ cause }),
    );
  }

  /** A new random data key. */
  static generate(): Buffer {
    return KeyWrap.generate();
  }

  wrap(key: Buffer, binding: DataKeyBinding): Buffer {
    return this.keyWrap.wrap(key, aad(binding));
  }

  unwrap(wrapped: Buffer, binding: DataKeyBinding): Buffer {
    return this.keyWrap.unwrap(wrapped, aad(binding));
  }
}
